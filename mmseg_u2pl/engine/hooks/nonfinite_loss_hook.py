# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import math
from typing import Dict, List, Tuple

import torch
from mmengine.dist import all_gather_object, all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from torch import Tensor

from mmseg.registry import HOOKS

__all__ = ['NonFiniteLossHook', 'NonFiniteLossError']


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop (or skip the step) when a loss term becomes NaN or infinite.

    Works for any MMEngine model, single process or DDP: in ``before_train``
    it wraps the model's ``parse_losses``, which both
    ``BaseModel.train_step`` and ``MMDistributedDataParallel.train_step`` call
    between the forward and the backward. Every term whose name contains
    ``'loss'`` (the terms MMEngine sums into the total) is checked; the
    verdict is all-reduced so that every rank acts the same (one rank raising
    or skipping alone would leave the others waiting in the gradient
    all-reduce).

    - ``on_nonfinite='error'`` (default): raise :class:`NonFiniteLossError`
      naming the term(s), their values, the rank(s) and the iteration, before
      the backward, so the weights and the last checkpoint stay finite.
    - ``on_nonfinite='skip'``: log a warning and skip the step. The total
      loss is replaced by a constant with no path to the parameters and the
      gradients are cleared to ``None``, so no rank back-propagates or
      all-reduces and ``optimizer.step()`` leaves every parameter and its
      momentum untouched (torch optimizers skip parameters without a
      gradient). After ``max_consecutive_skips`` skipped steps in a row the
      run stops with the error anyway.

    Args:
        on_nonfinite (str): ``'error'`` or ``'skip'``. Defaults to ``'error'``.
        max_consecutive_skips (int): Defaults to 10.
    """
    priority = 'NORMAL'

    def __init__(self, on_nonfinite: str = 'error', max_consecutive_skips: int = 10):
        if on_nonfinite not in ('error', 'skip'):
            raise ValueError("NonFiniteLossHook on_nonfinite must be 'error' or 'skip', "
                             f'got {on_nonfinite!r}')
        if max_consecutive_skips < 1:
            raise ValueError('NonFiniteLossHook max_consecutive_skips must be >= 1, got '
                             f'{max_consecutive_skips}')
        self.on_nonfinite = on_nonfinite
        self.max_consecutive_skips = max_consecutive_skips
        self.consecutive_skips = 0
        self.skipped_steps = 0

    def before_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model.parse_losses, '_nonfinite_checked', False):
            return
        parse_losses = model.parse_losses

        def checked_parse_losses(losses: Dict) -> Tuple[Tensor, Dict[str, Tensor]]:
            loss, log_vars = parse_losses(losses)
            return self.check(runner, loss, log_vars)

        checked_parse_losses._nonfinite_checked = True
        model.parse_losses = checked_parse_losses

    @staticmethod
    def nonfinite_terms(log_vars: Dict[str, Tensor]) -> List[Tuple[str, float]]:
        """``(name, value)`` of the non-finite loss terms of one rank."""
        terms = [(k, v) for k, v in log_vars.items() if 'loss' in k and k != 'loss']
        if not terms:
            terms = [(k, v) for k, v in log_vars.items() if k == 'loss']
        values = torch.stack([torch.as_tensor(v, dtype=torch.float32).detach().reshape(())
                              for _, v in terms]).cpu()
        return [(k, float(v)) for (k, _), v in zip(terms, values) if not math.isfinite(v)]

    def check(self, runner: Runner, loss: Tensor,
              log_vars: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
        bad = self.nonfinite_terms(log_vars)
        if not bool(torch.isfinite(loss.detach())) and not bad:
            bad = [('loss', float(loss))]
        rank, world = get_dist_info()
        if world > 1:
            flag = torch.tensor([float(bool(bad))], device=loss.device)
            all_reduce(flag, op='max')
            if flag.item() == 0:
                self.consecutive_skips = 0
                return loss, log_vars
            per_rank = all_gather_object(bad)
        else:
            if not bad:
                self.consecutive_skips = 0
                return loss, log_vars
            per_rank = [bad]
        terms = '; '.join(f'{name}={value} (rank {r})' for r, bad_r in enumerate(per_rank)
                          for name, value in bad_r)
        where = f'iteration {runner.iter + 1}/{runner.max_iters}'
        if self.on_nonfinite == 'error' or \
                self.consecutive_skips + 1 > self.max_consecutive_skips:
            reason = ('' if self.on_nonfinite == 'error' else
                      f' after {self.consecutive_skips} skipped steps in a row')
            raise NonFiniteLossError(
                f'Non-finite loss at {where}{reason}: {terms}. Training stopped before the '
                'backward pass. To skip such steps instead, set '
                "default_hooks.nonfinite_loss.on_nonfinite='skip'.")
        self.consecutive_skips += 1
        self.skipped_steps += 1
        print_log(f'NonFiniteLossHook: skipped {where}: {terms} '
                  f'({self.skipped_steps} skipped in total)', logger='current',
                  level=30)
        runner.optim_wrapper.zero_grad(set_to_none=True)
        # no path to any parameter: backward touches no weight and no DDP hook
        skipped = loss.detach().new_zeros(()).requires_grad_()
        return skipped, log_vars
