# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""AEL's class confidence bank and the class distributions derived from it
(Hu et al., "Semi-Supervised Semantic Segmentation via Adaptive Equalization
Learning", NeurIPS 2021, Sec. 3.2-3.4)."""
import torch
import torch.distributed as dist
from torch import Tensor, nn

from mmseg.registry import MODELS

__all__ = ['ClassConfidenceBank', 'class_sampling_probs', 'equalization_keep_probs']


def class_sampling_probs(confidence: Tensor, sqrt: bool = False) -> Tensor:
    """AEL's class distribution ``r = softmax(1 - Conf)`` (adaptive CutMix),
    or ``softmax(sqrt(1 - Conf))`` (adaptive copy-paste): classes the model
    is least confident about are drawn most often.

    Args:
        confidence (Tensor): (C,) in [0, 1].
        sqrt (bool): Use ``sqrt(1 - Conf)``.
    """
    gap = (1.0 - confidence.float()).clamp(min=0.0)
    return (gap.sqrt() if sqrt else gap).softmax(0)


def equalization_keep_probs(confidence: Tensor, beta: float = 1.0) -> Tensor:
    """AEL's adaptive equalization sampling: an unlabeled pixel predicted as
    class c is kept with ``s_c = ((1 - Conf_c) / max_c' (1 - Conf_c'))^beta``
    (all ones when every class has confidence 1).

    Args:
        confidence (Tensor): (C,) in [0, 1].
        beta (float): The exponent (AEL: 1).
    """
    gap = (1.0 - confidence.float()).clamp(min=0.0)
    top = gap.max()
    if top <= 0:
        return torch.ones_like(gap)
    return (gap / top).pow(beta)


@MODELS.register_module()
class ClassConfidenceBank(nn.Module):
    """``Conf_c``: per class, the student's mean probability of class c on the
    labeled pixels of class c, as an exponential moving average.

    ``Conf_c <- m Conf_c + (1 - m) mean_{j: y_j = c} p_jc`` after every
    iteration in which class c is labeled somewhere on any GPU; classes not
    labeled in the batch keep their value. Under DDP the per-class sums and
    counts are all-reduced first, so the bank is the same on every rank. The
    bank is a buffer of the segmentor: saved in checkpoints, so a resumed run
    continues it exactly.

    Args:
        num_classes (int): C.
        momentum (float): m (AEL: 0.999).
        init_value (float): ``Conf`` before any update (not given by AEL;
            chosen 0: no class is favoured before it is measured).
    """

    def __init__(self, num_classes: int, momentum: float = 0.999, init_value: float = 0.0):
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'ClassConfidenceBank momentum must be in [0, 1), got {momentum}')
        if not 0.0 <= init_value <= 1.0:
            raise ValueError(f'ClassConfidenceBank init_value must be in [0, 1], '
                             f'got {init_value}')
        self.num_classes = num_classes
        self.momentum = momentum
        self.register_buffer('confidence', torch.full((num_classes, ), float(init_value)))

    @torch.no_grad()
    def update(self, probs: Tensor, labels: Tensor, ignore_index: int = 255) -> None:
        """One EMA step from the student's probabilities on labeled pixels.

        Args:
            probs (Tensor): (B, C, H, W) student probabilities (detached).
            labels (Tensor): (B, H, W) long labels; ``ignore_index`` (and
                padding marked with it) is skipped.
        """
        C = self.num_classes
        labels = labels.long()
        valid = (labels != ignore_index) & (labels >= 0) & (labels < C)
        y = labels[valid]
        p = probs.float().permute(0, 2, 3, 1)[valid]          # (P, C)
        own = p.gather(1, y[:, None])[:, 0]                     # p_{j, y_j}
        stats = torch.zeros(2, C, device=probs.device)
        stats[0].index_add_(0, y, own)
        stats[1].index_add_(0, y, torch.ones_like(own))
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(stats)
        seen = stats[1] > 0
        mean = stats[0] / stats[1].clamp(min=1)
        m = self.momentum
        updated = m * self.confidence + (1 - m) * mean.to(self.confidence.dtype)
        self.confidence.copy_(torch.where(seen, updated, self.confidence))
