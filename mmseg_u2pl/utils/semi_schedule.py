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

from mmengine.logging import MessageHub

__all__ = ['SemiSchedule', 'current_semi_schedule', 'publish_semi_schedule']

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
