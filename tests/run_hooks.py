# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Test-only hooks for training runs launched by the slow tests
(``custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks'])`` with
``tests/`` on PYTHONPATH)."""
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


def _model(runner):
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


@HOOKS.register_module()
class NoOpHook(Hook):
    """Stands in for a default hook that a run switches off."""


@HOOKS.register_module()
class InterruptAtHook(Hook):
    """Kills the run right after the checkpoint of iteration ``at_iter``, or
    (``after_val=True``) after the validation that follows it."""
    priority = 'LOWEST'

    def __init__(self, at_iter, after_val=False):
        self.at_iter = at_iter
        self.after_val = after_val

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter and not self.after_val:
            raise RuntimeError('simulated interruption')

    def after_val_epoch(self, runner, metrics=None):
        if runner.iter == self.at_iter and self.after_val:
            raise RuntimeError('simulated interruption')


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """Saves each rank's weights and bank after training; optionally starves
    one rank of anchors and negatives in every step (asserted per step)."""

    def __init__(self, out_dir, starve_rank=None):
        self.out_dir = out_dir
        self.starve_rank = starve_rank

    def before_train(self, runner):
        if get_rank() != self.starve_rank:
            return
        for net in (_model(runner).student, _model(runner).teacher):
            head = net.contrastive_head
            head.positive_threshold = 2.0  # no anchor can pass p(c) > 2
            head.low_rank = head.high_rank = 0  # no class is ever a negative

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() == self.starve_rank:
            assert float(outputs['contrast_classes']) == 0.0
            assert float(outputs['contrast_negatives']) == 0.0

    def after_train(self, runner):
        model = _model(runner)
        torch.save(dict(teacher=model.teacher.state_dict(), student=model.student.state_dict(),
                        bank=model.memory_bank.state_dict(), iter=runner.iter),
                   f'{self.out_dir}/rank{get_rank()}.pth')


@HOOKS.register_module()
class InjectNonFiniteLossHook(Hook):
    """Makes loss term ``term`` NaN at the (1-based) iterations ``at_iters``
    on rank ``rank`` (all ranks if None), and records whether the student's
    weights and the optimizer state changed in those steps."""
    priority = 'VERY_HIGH'

    def __init__(self, at_iters, term, out_dir, rank=None):
        self.at_iters = list(at_iters)
        self.term = term
        self.out_dir = out_dir
        self.rank = rank
        self.changed = {}

    def before_train(self, runner):
        model = _model(runner)
        loss = model.loss

        def loss_with_nan(*args, **kwargs):
            losses = loss(*args, **kwargs)
            if runner.iter + 1 in self.at_iters and self.rank in (None, get_rank()):
                losses[self.term] = losses[self.term] * float('nan')
            return losses

        model.loss = loss_with_nan

    def _snapshot(self, runner):
        student = [p.detach().clone() for p in _model(runner).student.parameters()]
        optim = [v.clone() for s in runner.optim_wrapper.optimizer.state.values()
                 for v in s.values() if torch.is_tensor(v)]
        return student, optim

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._before = self._snapshot(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        after = self._snapshot(runner)
        self.changed[runner.iter + 1] = any(
            not torch.equal(x, y) for part in range(2)
            for x, y in zip(self._before[part], after[part]))

    def after_train(self, runner):
        torch.save(dict(changed=self.changed,
                        student=_model(runner).student.state_dict()),
                   f'{self.out_dir}/nonfinite_rank{get_rank()}.pth')


@HOOKS.register_module()
class DumpNetworksHook(Hook):
    """Saves each rank's whole model state after training."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_train(self, runner):
        torch.save(_model(runner).state_dict(), f'{self.out_dir}/networks_rank{get_rank()}.pth')
