# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils.semi_schedule import current_semi_schedule

__all__ = ['MeanTeacherHook']


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """EMA teacher of a student: ``theta_t <- d theta_t + (1 - d) theta_s``.

    - Warm-up: after the k-th semi-supervised step (k = 0, 1, ...) the decay is
      ``min(1 - 1 / (k + 1), decay)``, so the teacher follows the student closely
      at first and settles at ``decay`` (0.99) after 100 steps.
    - Warm start: before the schedule's ``semi_start_iter`` the teacher is an exact
      copy of the student after every step (it is not used for training then,
      but evaluation, which runs the teacher, stays meaningful); so at the end
      of warm start the teacher is the student, and it is copied once more
      right before the first semi-supervised iteration.
      ``reset_first_epoch=True`` instead makes the teacher the student during
      the whole first semi-supervised epoch, as the authors' code does: it is
      copied before every iteration of that epoch (the pseudo-labels come from
      the current student) and again after it (the authors' teacher aliases
      the student's tensors, so it follows the SGD step). At the end of the
      epoch teacher == student exactly; the EMA (and its warm-up counter k)
      runs from the next iteration on.
    - BN buffers (``bn_buffers``): the teacher predicts in eval mode, so its
      BN statistics are what it uses. ``'ema'`` (default) averages the
      floating-point buffers (running mean/var) with the same decay as the
      weights and copies integer ones (``num_batches_tracked``); ``'copy'``
      copies the student's buffers at every update. The authors' code keeps
      the teacher's own statistics by running it in train mode; that variant
      is not offered because it makes predictions depend on the batch.

    State: the schedule (:class:`~mmseg_u2pl.utils.SemiSchedule`, published
    by :class:`SemiScheduleHook`; without that hook there is no warm start)
    is a function of ``runner.iter``, so resuming needs no extra hook state.

    Args:
        decay (float): EMA decay of the teacher. Defaults to 0.99.
        interval (int): Update every ``interval`` iterations. Defaults to 1.
        warmup (bool): Use the ``1 - 1/(k+1)`` warm-up. Defaults to True.
        bn_buffers (str): ``'ema'`` or ``'copy'``. Defaults to ``'ema'``.
        reset_first_epoch (bool): Authors' code: teacher = student during the
            first semi-supervised epoch (the schedule's ``iters_per_epoch``
            iterations). Defaults to False.
    """
    priority = 'NORMAL'

    def __init__(self,
                 decay: float = 0.99,
                 interval: int = 1,
                 warmup: bool = True,
                 bn_buffers: str = 'ema',
                 reset_first_epoch: bool = False):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f'MeanTeacherHook decay must be in [0, 1), got {decay}')
        if bn_buffers not in ('ema', 'copy'):
            raise ValueError(f"MeanTeacherHook bn_buffers must be 'ema' or 'copy', "
                             f'got {bn_buffers!r}')
        if interval < 1:
            raise ValueError(f'MeanTeacherHook interval must be >= 1, got {interval}')
        self.decay = decay
        self.interval = interval
        self.warmup = warmup
        self.bn_buffers = bn_buffers
        self.reset_first_epoch = reset_first_epoch

    @staticmethod
    def _model(runner: Runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not (hasattr(model, 'teacher') and hasattr(model, 'student')):
            raise TypeError(f'MeanTeacherHook needs a model with `student` and `teacher`, '
                            f'got {type(model).__name__}')
        return model

    def before_train(self, runner: Runner) -> None:
        self._model(runner)

    def _in_reset_window(self, k: int) -> bool:
        """Whether semi-supervised step ``k`` (0-based) lies in the first
        semi-supervised epoch and ``reset_first_epoch`` is on."""
        if not self.reset_first_epoch:
            return False
        epoch_len = current_semi_schedule().iters_per_epoch
        return 0 <= k < max(1, round(epoch_len))

    @staticmethod
    def _semi_step(runner: Runner) -> int:
        """k of this iteration (< 0 during the warm start)."""
        return runner.iter - current_semi_schedule().semi_start_iter

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        model = self._model(runner)
        k = self._semi_step(runner)
        if k == 0 or self._in_reset_window(k):
            self.momentum_update(model, decay=0.0)

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        model = self._model(runner)
        k = self._semi_step(runner)
        if k < 0 or self._in_reset_window(k):
            # warm start / authors' first semi epoch: follow the student exactly
            self.momentum_update(model, decay=0.0)
            return
        if (k + 1) % self.interval != 0:
            return
        decay = min(1.0 - 1.0 / (k + 1), self.decay) if self.warmup else self.decay
        self.momentum_update(model, decay)

    @torch.no_grad()
    def momentum_update(self, model, decay: float) -> None:
        """``teacher = decay * teacher + (1 - decay) * student`` (0: copy)."""
        t_params = [p for p in model.teacher.parameters()]
        s_params = [p.detach() for p in model.student.parameters()]
        if len(t_params) != len(s_params):
            raise RuntimeError('teacher and student have different parameters')
        torch._foreach_lerp_(t_params, s_params, 1.0 - decay)
        # buffers: BN statistics averaged (bn_buffers='ema') or copied, and
        # integer counters copied; one foreach call each, not one per buffer
        lerp_t, lerp_s, copy_t, copy_s = [], [], [], []
        for t_buf, s_buf in zip(model.teacher.buffers(), model.student.buffers()):
            if self.bn_buffers == 'ema' and t_buf.is_floating_point():
                lerp_t.append(t_buf)
                lerp_s.append(s_buf)
            else:
                copy_t.append(t_buf)
                copy_s.append(s_buf)
        if lerp_t:
            torch._foreach_lerp_(lerp_t, lerp_s, 1.0 - decay)
        if copy_t:
            torch._foreach_copy_(copy_t, copy_s)
