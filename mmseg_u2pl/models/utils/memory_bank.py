# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Category-wise memory bank Q_c of U2PL (Sec. 3.3, supplementary Sec. B)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.distributed as dist
from torch import Tensor, nn

from mmseg.registry import MODELS

__all__ = ['ClassQueueMemoryBank', 'rank_within_class']


def rank_within_class(labels: Tensor, num_classes: int) -> Tuple[Tensor, Tensor]:
    """Position of each entry among the entries of its class, in order.

    Returns:
        tuple: (K,) rank (0 = first of its class) and (num_classes,) counts.
    """
    # not torch.bincount: on a GPU it reads the labels' range back to the host
    counts = torch.zeros(num_classes, dtype=torch.long, device=labels.device).scatter_add_(
        0, labels, torch.ones_like(labels))
    order = torch.sort(labels, stable=True).indices
    start = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(labels)
    rank[order] = torch.arange(labels.numel(), device=labels.device) - start[labels[order]]
    return rank, counts


@MODELS.register_module()
class ClassQueueMemoryBank(nn.Module):
    """One FIFO queue of feature vectors per class.

    The queues live in one preallocated buffer of shape
    ``(num_classes, max(lengths), dim)`` on the training device; pushing and
    sampling are tensor ops (sampling reads nothing back to the host; pushing
    reads one flag, see :meth:`push`). Under DDP, :meth:`push`
    all-gathers every rank's new entries (padded tensors, ``all_gather``) and
    pushes them in rank order, so the banks stay identical on all ranks.

    Args:
        num_classes (int): Number of queues.
        dim (int): Feature dimension.
        length (int): Capacity of each foreground queue. Defaults to 30000.
        background_index (int, optional): Class whose queue gets
            ``background_length`` (VOC background is 0). ``None``: none.
        background_length (int): Defaults to 50000 (supplementary Sec. B).
        lengths (Sequence[int], optional): Explicit capacity per class;
            overrides the three arguments above.
        persistent (bool): Whether the queues are saved in checkpoints
            (exact resume). If False, they restart empty after a resume.
    """

    def __init__(self,
                 num_classes: int,
                 dim: int,
                 length: int = 30000,
                 background_index: Optional[int] = 0,
                 background_length: int = 50000,
                 lengths: Optional[Sequence[int]] = None,
                 persistent: bool = True):
        super().__init__()
        if lengths is None:
            lengths = [length] * num_classes
            if background_index is not None:
                lengths[background_index] = background_length
        lengths = list(lengths)
        if len(lengths) != num_classes or min(lengths) < 1:
            raise ValueError(
                f'memory bank lengths must be {num_classes} positive ints, got {lengths}')
        self.num_classes = num_classes
        self.dim = dim
        self.register_buffer('capacity', torch.tensor(lengths, dtype=torch.long), persistent=False)
        # one extra scratch slot per class receives entries that are dropped at once
        self.register_buffer('queue', torch.zeros(num_classes, max(lengths) + 1, dim),
                             persistent=persistent)
        # Next write position and number of valid entries per class.
        self.register_buffer('ptr', torch.zeros(num_classes, dtype=torch.long),
                             persistent=persistent)
        self.register_buffer('count', torch.zeros(num_classes, dtype=torch.long),
                             persistent=persistent)

    @torch.no_grad()
    def push(self, feats: Tensor, labels: Tensor, gather: bool = True) -> None:
        """Enqueue ``feats[i]`` into queue ``labels[i]``, oldest entries out.

        Entries are pushed in order; when more than a queue's capacity arrive
        at once only the newest ``capacity`` survive, as in a FIFO. Vectorised
        over classes: no per-class loop; the host synchronises only to check
        that the features are finite (non-finite rows are dropped) and, under
        DDP, for the size exchange of the gather and its padding filter.

        Args:
            feats (Tensor): (K, dim) features (detached).
            labels (Tensor): (K,) long class ids in [0, num_classes).
            gather (bool): Gather the entries of all ranks first (DDP).
        """
        feats = feats.detach().to(self.queue.dtype)
        labels = labels.long()
        # a NaN/inf feature (e.g. an fp16 overflow in a step that
        # NonFiniteLossHook skips) would poison its queue for good
        finite = torch.isfinite(feats).all(dim=1)
        if not bool(finite.all()):
            feats, labels = feats[finite], labels[finite]
        if gather and dist.is_available() and dist.is_initialized() \
                and dist.get_world_size() > 1:
            feats, labels = self._all_gather(feats, labels)
        if feats.shape[0] == 0:
            return
        # rank of each entry among the new entries of its class (0 = oldest)
        rank, num_new = rank_within_class(labels, self.num_classes)
        cap = self.capacity[labels]
        survives = rank >= num_new[labels] - cap
        slot = (self.ptr[labels] + rank) % cap
        # entries a FIFO would drop at once go to a scratch slot past the end
        slot = torch.where(survives, slot, torch.full_like(slot, self.queue.shape[1] - 1))
        self.queue.index_put_((labels, slot), feats)
        self.ptr.copy_((self.ptr + num_new) % self.capacity)
        self.count.copy_(torch.minimum(self.count + num_new, self.capacity))

    @staticmethod
    def _all_gather(feats: Tensor, labels: Tensor):
        world = dist.get_world_size()
        n = torch.full((1, ), feats.shape[0], dtype=torch.long, device=feats.device)
        sizes = [torch.zeros_like(n) for _ in range(world)]
        dist.all_gather(sizes, n)
        max_n = int(torch.stack(sizes).max())  # one read, not one per rank
        pad_f = feats.new_zeros(max_n, feats.shape[1])
        pad_f[:feats.shape[0]] = feats
        pad_l = labels.new_full((max_n, ), -1)
        pad_l[:labels.shape[0]] = labels
        all_f = [torch.empty_like(pad_f) for _ in range(world)]
        all_l = [torch.empty_like(pad_l) for _ in range(world)]
        dist.all_gather(all_f, pad_f)
        dist.all_gather(all_l, pad_l)
        f = torch.cat(all_f)
        lab = torch.cat(all_l)
        keep = lab >= 0
        return f[keep], lab[keep]

    def get(self, c: int) -> Tensor:
        """All valid entries of queue ``c``, oldest first: (count_c, dim)."""
        cnt, cap, ptr = int(self.count[c]), int(self.capacity[c]), int(self.ptr[c])
        if cnt < cap:
            return self.queue[c, :cnt]
        return torch.cat([self.queue[c, ptr:cap], self.queue[c, :ptr]])

    def sample(self, classes: Tensor, num: int) -> Tensor:
        """``num`` entries per class, drawn uniformly with replacement.

        Args:
            classes (Tensor): (K,) long class ids.
            num (int): Entries per class.

        Returns:
            Tensor: (K, num, dim). Rows of empty queues are zeros; check
            :attr:`count` to mask them.
        """
        cnt = self.count[classes]
        r = torch.rand(classes.numel(), num, device=self.queue.device)
        idx = (r * cnt[:, None]).long().clamp(min=0)
        idx = torch.minimum(idx, (cnt[:, None] - 1).clamp(min=0))
        # rows of the flattened (C * slots, dim) buffer: index_select copies
        # whole rows, several times faster than 2-D advanced indexing
        rows = classes[:, None] * self.queue.shape[1] + idx
        flat = self.queue.view(-1, self.dim)
        return flat.index_select(0, rows.view(-1)).view(classes.numel(), num, self.dim)
