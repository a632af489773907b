# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import itertools
from typing import Iterator, Optional

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS

__all__ = ['SemiSupervisedSampler']


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Infinite sampler of ``labeled_per_batch`` labeled then
    ``unlabeled_per_batch`` unlabeled indices, batch after batch.

    Each source is an endless stream of random permutations (one seed shared
    by all ranks), split between ranks by striding, so every rank draws B
    labeled and B unlabeled images per iteration and ranks see different
    images. The dataloader's ``batch_size`` must be the sum of the two counts
    (checked by :class:`SemiScheduleHook`).

    Args:
        dataset (SemiSegDataset): labeled first, then unlabeled.
        labeled_per_batch (int): B_l per GPU.
        unlabeled_per_batch (int): B_u per GPU. Defaults to ``labeled_per_batch``.
        shuffle (bool): Random order (else sequential). Defaults to True.
        seed (int, optional): Defaults to a seed synchronised across ranks.
    """

    def __init__(self,
                 dataset,
                 labeled_per_batch: int,
                 unlabeled_per_batch: Optional[int] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None):
        if not hasattr(dataset, 'num_unlabeled'):
            raise TypeError('SemiSupervisedSampler needs a SemiSegDataset, got '
                            f'{type(dataset).__name__}')
        if unlabeled_per_batch is None:
            unlabeled_per_batch = labeled_per_batch
        if labeled_per_batch < 1 or unlabeled_per_batch < 1:
            raise ValueError('labeled_per_batch and unlabeled_per_batch must be >= 1, got '
                             f'{labeled_per_batch}, {unlabeled_per_batch}')
        self.dataset = dataset
        self.labeled_per_batch = labeled_per_batch
        self.unlabeled_per_batch = unlabeled_per_batch
        self.shuffle = shuffle
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed

    def _stream(self, size: int, offset: int, source: int) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + 1000003 * source)
        while True:
            order = torch.randperm(size, generator=g) if self.shuffle else torch.arange(size)
            yield from (offset + i for i in order.tolist())

    def _rank_stream(self, size: int, offset: int, source: int) -> Iterator[int]:
        return itertools.islice(self._stream(size, offset, source), self.rank, None,
                                self.world_size)

    def __iter__(self) -> Iterator[int]:
        n_l = self.dataset.num_labeled
        labeled = self._rank_stream(n_l, 0, 0)
        unlabeled = self._rank_stream(self.dataset.num_unlabeled, n_l, 1)
        while True:
            yield from itertools.islice(labeled, self.labeled_per_batch)
            yield from itertools.islice(unlabeled, self.unlabeled_per_batch)

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Not used: the streams are infinite."""
