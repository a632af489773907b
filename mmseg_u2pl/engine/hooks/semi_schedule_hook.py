# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import math
from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils.semi_schedule import SemiSchedule, publish_semi_schedule, unlabeled_epoch_size

__all__ = ['SemiScheduleHook', 'EntropyPartitionHook']


@HOOKS.register_module()
class SemiScheduleHook(Hook):
    """Owns the schedule of a semi-supervised run: epochs and warm start.

    For an iteration-based loop, an epoch is one pass over the unlabeled set:
    ``iters_per_epoch = N_u / (B_u * world_size)`` where ``B_u`` is the number
    of unlabeled images per GPU and iteration. Before every iteration it
    publishes a :class:`~mmseg_u2pl.utils.SemiSchedule` (iteration, epoch
    length, total epochs, end of the warm start) in the message hub, where
    the segmentor (warm start; U2PL's alpha_t, Eq. 7) and
    :class:`MeanTeacherHook` (EMA warm-up) read it. The warm start lasts
    ``warm_start_epochs`` epochs, in which the model trains with ``L_s`` only
    (U2PL supplementary Sec. B). Everything is a function of ``runner.iter``,
    so a resumed run continues the schedule.

    Before training it checks the loader (``batch_size`` = labeled +
    unlabeled per batch) and lets the model refuse its per-GPU batch
    (``model.check_semi_batch(unlabeled_per_batch)``, e.g. CutMix with one
    unlabeled image), so a bad setting stops the run before iteration 0.

    Args:
        warm_start_epochs (float): Epochs of supervised-only training.
            Defaults to 0.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, warm_start_epochs: float = 0):
        if warm_start_epochs < 0:
            raise ValueError(f'SemiScheduleHook warm_start_epochs must be >= 0, '
                             f'got {warm_start_epochs}')
        self.warm_start_epochs = warm_start_epochs
        self.schedule: Optional[SemiSchedule] = None

    @staticmethod
    def _model(runner: Runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner: Runner) -> None:
        loader = runner.train_dataloader
        sampler = getattr(loader, 'sampler', None)
        dataset = getattr(loader, 'dataset', None)
        if not hasattr(sampler, 'unlabeled_per_batch') or not hasattr(dataset, 'num_unlabeled'):
            raise TypeError(
                'SemiScheduleHook needs train_dataloader.dataset of type SemiSegDataset '
                'and train_dataloader.sampler of type SemiSupervisedSampler, got '
                f'{type(dataset).__name__} / {type(sampler).__name__}')
        per_batch = sampler.labeled_per_batch + sampler.unlabeled_per_batch
        if loader.batch_size != per_batch:
            raise ValueError(
                f'train_dataloader.batch_size={loader.batch_size} must equal '
                f'sampler.labeled_per_batch + sampler.unlabeled_per_batch = {per_batch}')
        model = self._model(runner)
        if hasattr(model, 'check_semi_batch'):
            # e.g. CutMix with one unlabeled image per GPU: refuse before iteration 0
            model.check_semi_batch(sampler.unlabeled_per_batch)
        num_unlabeled, per_iter = unlabeled_epoch_size(loader, get_world_size())
        iters_per_epoch = num_unlabeled / per_iter
        self.schedule = SemiSchedule(
            iteration=runner.iter,
            iters_per_epoch=iters_per_epoch,
            total_epochs=runner.max_iters / iters_per_epoch,
            semi_start_iter=math.ceil(self.warm_start_epochs * iters_per_epoch))
        publish_semi_schedule(self.schedule)
        runner.logger.info(
            f'SemiScheduleHook: {iters_per_epoch:.2f} iterations per epoch of the '
            f'unlabeled set, {self.schedule.total_epochs:.2f} epochs in total, warm start '
            f'until iteration {self.schedule.semi_start_iter}')

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        s = self.schedule
        publish_semi_schedule(SemiSchedule(runner.iter, s.iters_per_epoch, s.total_epochs,
                                           s.semi_start_iter))


@HOOKS.register_module()
class EntropyPartitionHook(Hook):
    """Removed: configs name :class:`SemiScheduleHook` instead.

    Raises a clear error for a config written for an earlier version.
    """

    def __init__(self, *args, **kwargs):
        raise KeyError(
            "EntropyPartitionHook was replaced: use dict(type='SemiScheduleHook', "
            'warm_start_epochs=...) in custom_hooks; its `dynamic` option is now '
            'model.semi_train_cfg.dynamic_partition of U2PLSemiSegmentor')
