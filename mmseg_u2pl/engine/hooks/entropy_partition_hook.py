# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import math
from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...models.utils import linear_unreliable_ratio

__all__ = ['EntropyPartitionHook']


@HOOKS.register_module()
class EntropyPartitionHook(Hook):
    """Schedule of the reliable/unreliable partition and of the warm start.

    For an iteration-based loop, an epoch is one pass over the unlabeled set:
    ``iters_per_epoch = N_u / (B_u * world_size)`` where ``B_u`` is the number
    of unlabeled images per GPU and iteration. Before every iteration it sets
    on the model:

    - ``alpha_t = alpha_0 * (1 - t / T)`` (Eq. 7, Dynamic Partition
      Adjustment) with ``t`` the current (integer) epoch and ``T`` the total
      number of epochs of the run; with ``dynamic=False`` ``alpha_t = alpha_0``
      (Tab. 6 "w/o DPA");
    - ``warm_start``: True during the first ``warm_start_epochs`` epochs, in
      which the model trains with ``L_s`` only (supplementary Sec. B);
    - ``semi_start_iter``: the first iteration after the warm start
      (:class:`MeanTeacherHook` copies the student into the teacher there).

    ``alpha_0`` is the model's ``semi_train_cfg.alpha_0``. Everything is a
    function of ``runner.iter``, so a resumed run continues the schedule.

    Before training it checks the loader (``batch_size`` = labeled +
    unlabeled per batch) and lets the model refuse its per-GPU batch
    (``model.check_semi_batch(unlabeled_per_batch)``, e.g. CutMix with one
    unlabeled image), so a bad setting stops the run before iteration 0.

    Args:
        warm_start_epochs (float): Epochs of supervised-only training.
            Defaults to 0.
        dynamic (bool): Decay ``alpha_t`` linearly (Eq. 7). Defaults to True.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, warm_start_epochs: float = 0, dynamic: bool = True):
        if warm_start_epochs < 0:
            raise ValueError(f'warm_start_epochs must be >= 0, got {warm_start_epochs}')
        self.warm_start_epochs = warm_start_epochs
        self.dynamic = dynamic
        self.iters_per_epoch: Optional[float] = None

    @staticmethod
    def _model(runner: Runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner: Runner) -> None:
        loader = runner.train_dataloader
        sampler = getattr(loader, 'sampler', None)
        dataset = getattr(loader, 'dataset', None)
        if not hasattr(sampler, 'unlabeled_per_batch') or not hasattr(dataset, 'num_unlabeled'):
            raise TypeError(
                'EntropyPartitionHook needs train_dataloader.dataset of type SemiSegDataset '
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
        self.iters_per_epoch = dataset.num_unlabeled / (
            sampler.unlabeled_per_batch * get_world_size())
        self.total_epochs = runner.max_iters / self.iters_per_epoch
        model.semi_start_iter = math.ceil(self.warm_start_epochs * self.iters_per_epoch)
        model.iters_per_epoch = self.iters_per_epoch
        runner.logger.info(
            f'EntropyPartitionHook: {self.iters_per_epoch:.2f} iterations per epoch of the '
            f'unlabeled set, {self.total_epochs:.2f} epochs in total, warm start until '
            f'iteration {model.semi_start_iter}')

    def alpha_at(self, alpha_0: float, iteration: int) -> float:
        if not self.dynamic:
            return alpha_0
        epoch = math.floor(iteration / self.iters_per_epoch)
        return linear_unreliable_ratio(alpha_0, epoch, self.total_epochs)

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        model = self._model(runner)
        model.warm_start = runner.iter < model.semi_start_iter
        model.alpha_t = self.alpha_at(model.semi_train_cfg['alpha_0'], runner.iter)
