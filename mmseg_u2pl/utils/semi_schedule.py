# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The schedule of a semi-supervised run, owned by one place.

:class:`~mmseg_u2pl.engine.SemiScheduleHook` publishes a :class:`SemiSchedule`
in MMEngine's message hub before every training iteration; segmentors and
hooks read it with :func:`current_semi_schedule` (nothing is written onto the
model). Every field is a function of the iteration and of the loader, so a
resumed run recomputes it and the message hub does not save it.
"""
import math
from dataclasses import dataclass
from typing import Tuple

from mmengine.logging import MessageHub

__all__ = [
    'SemiSchedule', 'current_semi_schedule', 'publish_semi_schedule', 'unlabeled_epoch_size'
]

SCHEDULE_KEY = 'mmseg_u2pl.semi_schedule'


@dataclass(frozen=True)
class SemiSchedule:
    """Where a semi-supervised run stands.

    An epoch is one pass over the unlabeled set:
    ``iters_per_epoch = N_u / (B_u * world_size)``.

    Attributes:
        iteration (int): The current (0-based) training iteration.
        iters_per_epoch (float): Iterations per epoch of the unlabeled set;
            0 when unknown (a model used outside a runner).
        total_epochs (float): Epochs of the whole run (0 when unknown).
        semi_start_iter (int): First iteration after the warm start.
    """
    iteration: int = 0
    iters_per_epoch: float = 0.0
    total_epochs: float = 0.0
    semi_start_iter: int = 0

    @property
    def warm_start(self) -> bool:
        """True during the supervised-only warm start."""
        return self.iteration < self.semi_start_iter

    @property
    def semi_step(self) -> int:
        """k: semi-supervised steps done before this one (< 0 in warm start)."""
        return self.iteration - self.semi_start_iter

    @property
    def epoch(self) -> int:
        """The current (integer) epoch t of the unlabeled set (0 when unknown)."""
        if self.iters_per_epoch <= 0:
            return 0
        return math.floor(self.iteration / self.iters_per_epoch)


def current_semi_schedule() -> SemiSchedule:
    """The schedule published for this iteration (defaults outside a run)."""
    return MessageHub.get_current_instance().get_info(SCHEDULE_KEY, SemiSchedule())


def publish_semi_schedule(schedule: SemiSchedule) -> None:
    """Make ``schedule`` the current one (not saved in checkpoints)."""
    MessageHub.get_current_instance().update_info(SCHEDULE_KEY, schedule, resumed=False)


def unlabeled_epoch_size(loader, world_size: int) -> Tuple[int, int]:
    """``(N_u, B_u * world_size)``: the unlabeled set's size and the unlabeled
    images one iteration reads on all GPUs together.

    One epoch is one pass over the unlabeled set, ``N_u / (B_u * world_size)``
    iterations; the pair keeps that ratio exact.

    - A semi-supervised loader (``SemiSegDataset`` + ``SemiSupervisedSampler``):
      ``B_u`` is the sampler's ``unlabeled_per_batch``.
    - A labeled-only loader whose dataset knows its split's unlabeled set
      (``SplitListDataset`` with ``split_dir``; the SupOnly baselines): ``B_u``
      is the loader's ``batch_size``, so a baseline with as many labeled images
      per batch as its semi-supervised twin trains as many iterations (CPS
      supplementary, footnote 1).

    Raises:
        TypeError: For a loader of neither kind, naming the dataset and sampler.
    """
    sampler = getattr(loader, 'sampler', None)
    dataset = getattr(loader, 'dataset', None)
    num_unlabeled = getattr(dataset, 'num_unlabeled', None)
    if num_unlabeled is None:
        raise TypeError(
            'an epoch here is one pass over the unlabeled set, but train_dataloader.dataset '
            f'({type(dataset).__name__}) does not know one: use a SemiSegDataset, or a '
            'SplitListDataset with split_dir (its unlabeled.txt is counted)')
    per_gpu = getattr(sampler, 'unlabeled_per_batch', None) or loader.batch_size
    return num_unlabeled, per_gpu * world_size
