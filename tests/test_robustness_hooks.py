# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""NonFiniteLossHook, RandomStateHook and the safe checkpoint loader, in
one process (the 2-process and tools/train.py runs are in test_dist_cpu.py
and test_resume.py)."""
import io
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapper
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg.registry import HOOKS, MODELS
from mmseg_u2pl.engine import NonFiniteLossError, get_random_state, set_random_state
from mmseg_u2pl.engine.hooks.random_state_hook import _RestoreAfterReplay
from mmseg_u2pl.utils import UnsafeCheckpointError
from _tiny import make_batch, tiny_segmentor_cfg


def setup(on_nonfinite, **kwargs):
    model = MODELS.build(ConfigDict(tiny_segmentor_cfg()))
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                         weight_decay=1e-2))
    runner = SimpleNamespace(model=model, iter=4, max_iters=10, optim_wrapper=optim)
    hook = HOOKS.build(dict(type='NonFiniteLossHook', on_nonfinite=on_nonfinite, **kwargs))
    hook.before_train(runner)
    return model, optim, runner, hook


def step(model, optim, nan_term=None):
    """What ``BaseModel.train_step`` does, with one term made NaN."""
    data = model.data_preprocessor(make_batch(num_unlabeled=0), training=True)
    losses = model(**data, mode='loss')
    if nan_term is not None:
        losses[nan_term] = losses[nan_term] * float('nan')
    loss, log_vars = model.parse_losses(losses)
    optim.update_params(loss)
    return log_vars


def test_nonfinite_loss_error_names_term_and_iteration():
    model, optim, runner, _ = setup('error')
    step(model, optim)  # finite: trains normally
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(NonFiniteLossError,
                       match=r"iteration 5/10: decode\.loss_ce=nan \(rank 0\).*"
                       r"on_nonfinite='skip'"):
        step(model, optim, 'decode.loss_ce')
    # raised before the backward: the weights are untouched and finite
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_nonfinite_loss_skip_leaves_weights_and_momentum_untouched():
    model, optim, runner, hook = setup('skip')
    step(model, optim)  # momentum buffers now non-zero: a zero-gradient step would move
    params = [p.detach().clone() for p in model.parameters()]
    momenta = [s['momentum_buffer'].clone() for s in optim.optimizer.state.values()]
    log_vars = step(model, optim, 'decode.loss_ce')
    assert not torch.isfinite(log_vars['loss'])  # the log still shows what happened
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), params))
    assert all(torch.equal(s['momentum_buffer'], m)
               for s, m in zip(optim.optimizer.state.values(), momenta))
    assert hook.skipped_steps == 1
    step(model, optim)  # the next finite step trains again
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), params))
    assert hook.consecutive_skips == 0


def test_nonfinite_loss_skip_gives_up_after_consecutive_skips():
    model, optim, _, _ = setup('skip', max_consecutive_skips=2)
    step(model, optim, 'decode.loss_ce')
    step(model, optim, 'decode.loss_ce')
    with pytest.raises(NonFiniteLossError, match='after 2 skipped steps in a row'):
        step(model, optim, 'decode.loss_ce')


def test_nonfinite_loss_hook_arguments():
    with pytest.raises(ValueError, match='on_nonfinite'):
        HOOKS.build(dict(type='NonFiniteLossHook', on_nonfinite='ignore'))
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        HOOKS.build(dict(type='NonFiniteLossHook', max_consecutive_skips=0))


def draws():
    return (random.random(), float(np.random.rand()), float(torch.rand(())))


def test_random_state_round_trip_and_safe_loading():
    state = get_random_state()
    expected = draws()
    buf = io.BytesIO()
    torch.save({'random_states': [state]}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)['random_states'][0]
    draws()
    set_random_state(loaded)
    assert draws() == expected


def test_restore_happens_after_the_replayed_batches():
    events = []
    loop = SimpleNamespace(dataloader_iterator=iter(range(10)))
    loop.dataloader_iterator = _RestoreAfterReplay(loop, 3, lambda: events.append('restore'))
    for _ in range(5):
        events.append(next(loop.dataloader_iterator))
    assert events == [0, 1, 2, 'restore', 3, 4]
    assert not isinstance(loop.dataloader_iterator, _RestoreAfterReplay)  # unwrapped


def test_validation_does_not_change_the_training_random_stream():
    hook = HOOKS.build(dict(type='RandomStateHook'))
    state = get_random_state()
    expected = draws()
    set_random_state(state)
    hook.before_val(None)
    draws()  # e.g. a new dataloader iterator draws its base seed
    hook.after_val(None)
    assert draws() == expected


class Opaque:
    """Any type that is not on the allow-list."""


def test_checkpoint_with_other_pickled_types_is_refused(tmp_path):
    from mmseg_u2pl.utils import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()  # what SafeCheckpointHook does before a run
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'iter': 3}}, good)
    assert _load_checkpoint(str(good))['meta']['iter'] == 3
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'w': torch.ones(2)},
                'extra': Opaque()}, bad)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'bad\.pth: it holds test_robustness_hooks\.Opaque.*add_safe_globals'):
        _load_checkpoint(str(bad))


def test_importing_the_package_changes_nothing_but_registries():
    """`import mmseg_u2pl` patches neither MMEngine nor torch's allow-list;
    SafeCheckpointHook.before_run applies the checkpoint fix."""
    import subprocess
    import sys
    code = (
        'import torch, mmengine.logging as L\n'
        'from mmengine.runner.checkpoint import CheckpointLoader\n'
        'allowed = lambda: L.HistoryBuffer in torch.serialization.get_safe_globals()\n'
        'before = (L.HistoryBuffer.__getstate__, dict(CheckpointLoader._schemes), allowed())\n'
        'import mmseg_u2pl\n'
        'after = (L.HistoryBuffer.__getstate__, dict(CheckpointLoader._schemes), allowed())\n'
        'assert before == after and not after[2], (before, after)\n'
        'from mmseg_u2pl.engine.hooks import SafeCheckpointHook\n'
        'SafeCheckpointHook().before_run(None)\n'
        'assert L.HistoryBuffer.__getstate__ is not before[0] and allowed()\n'
        'assert CheckpointLoader._schemes[""] is not before[1][""]\n'
        'print("ok")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert proc.returncode == 0 and 'ok' in proc.stdout, proc.stderr[-3000:]
