# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import random
from typing import Any, Callable, Dict, Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS

__all__ = ['RandomStateHook', 'get_random_state', 'set_random_state']


def get_random_state() -> Dict[str, Any]:
    """This process's Python, NumPy, torch (and CUDA) generator states.

    Stored with plain types and tensors only, so a checkpoint holding them
    loads under ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos),
                        int(has_gauss), float(cached)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_random_state(state: Dict[str, Any]) -> None:
    """Inverse of :func:`get_random_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


class _RestoreAfterReplay:
    """Wraps the train loop's data iterator: after the loop has replayed
    ``skip`` batches on resume (MMEngine's ``IterBasedTrainLoop`` re-reads the
    data it already trained on), calls ``restore`` right before the first new
    batch is read, then hands the loop its own iterator back."""

    def __init__(self, loop, skip: int, restore: Callable[[], None]):
        self.loop = loop
        self.inner = loop.dataloader_iterator
        self.skip = skip
        self.restore = restore

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        if self.skip == 0:
            self.restore()
            self.loop.dataloader_iterator = self.inner
        else:
            self.skip -= 1
        return next(self.inner)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Makes interrupt-and-resume exact: saves every rank's random generator
    states in the checkpoint and restores them on resume.

    MMEngine seeds the generators once at start-up and saves model, optimizer,
    schedulers and message hub, but not the generator states. Everything
    random in a training step (data augmentation, dropout, CutMix boxes,
    anchor/negative sampling, tie-breaking of the entropy ranking) draws from
    them, so without this hook a resumed run is a different run.

    - After each training iteration (priority 85: after the other hooks, just
      before ``CheckpointHook``) the state of every rank is recorded (one
      small ``all_gather_object`` per iteration under DDP; checkpoints are
      written by rank 0 only). ``before_save_checkpoint`` stores the list in
      ``checkpoint['random_states']``.
    - On resume, each rank takes its own entry; it is applied after
      ``IterBasedTrainLoop`` has replayed the dataloader up to the resumed
      iteration and before the next batch is read, so augmentation of the
      next batch (in the main process with ``num_workers=0``; worker
      processes are re-seeded by MMEngine and the replay advances them
      identically) and the next step see the same draws as the straight run.
    - Validation during training draws from the same generators (creating a
      dataloader iterator does); the state is saved before and restored after
      it, so evaluating does not change training.

    A resumed run with a different number of processes cannot be exact: a
    warning is logged and the generators keep their seeded state.
    """
    priority = 85  # after every NORMAL/LOW hook, before CheckpointHook (VERY_LOW)

    def __init__(self) -> None:
        self._states: Optional[List[Dict[str, Any]]] = None
        self._resumed: Optional[Dict[str, Any]] = None
        self._before_val: Optional[Dict[str, Any]] = None

    def _record(self) -> None:
        _, world = get_dist_info()
        state = get_random_state()
        self._states = all_gather_object(state) if world > 1 else [state]

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        self._record()

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        if self._states is None:  # e.g. a checkpoint before the first iteration
            _, world = get_dist_info()
            if world > 1:  # rank 0 only: cannot gather here
                return
            self._states = [get_random_state()]
        checkpoint['random_states'] = self._states

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        states = checkpoint.get('random_states')
        if states is None:
            return
        rank, world = get_dist_info()
        if len(states) != world:
            runner.logger.warning(
                f'RandomStateHook: the checkpoint holds random states of {len(states)} '
                f'processes, this run has {world}; the resumed run will not repeat the '
                'interrupted one exactly')
            return
        self._resumed = states[rank]

    def before_train(self, runner: Runner) -> None:
        if self._resumed is None:
            return
        state, self._resumed = self._resumed, None
        if runner.iter == 0:  # `load_from` (fine-tuning), not a resumed run
            return
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = _RestoreAfterReplay(
                loop, runner.iter, lambda: set_random_state(state))
        else:  # epoch-based loops do not replay data
            set_random_state(state)

    def before_val(self, runner: Runner) -> None:
        self._before_val = get_random_state()

    def after_val(self, runner: Runner) -> None:
        if self._before_val is not None:
            set_random_state(self._before_val)
            self._before_val = None
