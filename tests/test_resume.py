# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Interrupt-and-resume is exact (slow): U2PL trained 2k iterations straight
and k + (interrupt, ``--resume``) + k iterations through tools/train.py end
with the same student, teacher, memory bank, optimizer, schedulers, alpha_t
and random states."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

K = 4  # checkpoint (and validation) every K iterations; 2K in all


def train(args, cwd, check=True):
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out[-6000:]
    return proc.returncode, out


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    from _tiny import make_synthetic_split
    tmp = tmp_path_factory.mktemp('resume')
    make_synthetic_split(tmp, seed=3)
    base = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
    (tmp / 'cfg.py').write_text(
        f"_base_ = '{base}'\n"
        "custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks'])\n"
        f'train_cfg = dict(max_iters={2 * K}, val_interval={K})\n'
        f'param_scheduler = [dict(type="PolyLR", eta_min=0.0, power=0.9, begin=0, '
        f'end={2 * K}, by_epoch=False)]\n'
        f'default_hooks = dict(checkpoint=dict(interval={K}, max_keep_ckpts=3), '
        'logger=dict(interval=1))\n'
        # 40 unlabeled / 4 per iteration: 10 iterations per epoch, warm start until 2
        'custom_hooks = [\n'
        "    dict(type='SemiScheduleHook', warm_start_epochs=0.2),\n"
        "    dict(type='MeanTeacherHook', decay=0.99)]\n")
    (tmp / 'cfg_interrupted.py').write_text(
        "_base_ = './cfg.py'\n"
        f"default_hooks = dict(interrupt=dict(type='InterruptAtHook', at_iter={K}))\n")
    return tmp


def workers(n):
    return [f'train_dataloader.num_workers={n}', f'train_dataloader.persistent_workers={n > 0}',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']


def losses_after(out, first):
    """``{iteration: loss}`` of the logged iterations >= ``first``."""
    found = re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\].*? loss: ([-\d.e+naif]+)', out)
    return {int(i): v for i, v in found if int(i) >= first}


def straight_and_resumed(tmp, name, opts):
    work_a, work_b = f'{name}_straight', f'{name}_resumed'
    _, out_a = train(['cfg.py', '--work-dir', work_a, '--cfg-options', *opts], tmp)
    code, out = train(['cfg_interrupted.py', '--work-dir', work_b, '--cfg-options', *opts], tmp,
                      check=False)
    assert code != 0 and 'simulated interruption' in out, out[-3000:]
    assert not (tmp / work_b / f'iter_{2 * K}.pth').exists()
    # `--resume` without a path: the latest checkpoint of the work dir
    _, out_b = train(['cfg.py', '--work-dir', work_b, '--resume', '--cfg-options', *opts], tmp)
    assert 'Auto resumed from the latest checkpoint' in out_b
    assert f'resumed epoch: 0, iter: {K}' in out_b
    a = torch.load(tmp / work_a / f'iter_{2 * K}.pth')
    b = torch.load(tmp / work_b / f'iter_{2 * K}.pth')
    return a, b, losses_after(out_a, K + 1), losses_after(out_b, K + 1)


def max_abs_diff(x, y):
    """Largest difference between two nested checkpoint structures."""
    if isinstance(x, torch.Tensor):
        assert x.shape == y.shape
        return (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        return max([max_abs_diff(x[k], y[k]) for k in x] or [0.0])
    if isinstance(x, (list, tuple)):
        assert len(x) == len(y)
        return max([max_abs_diff(u, v) for u, v in zip(x, y)] or [0.0])
    if isinstance(x, (int, float)):
        return abs(x - y)
    assert x == y
    return 0.0


def assert_same_run(a, b, loss_a, loss_b):
    assert a['meta']['iter'] == b['meta']['iter'] == 2 * K
    diffs = {part: max_abs_diff(a[part], b[part])
             for part in ('state_dict', 'optimizer', 'param_schedulers', 'random_states')}
    print('max |straight - resumed|:', diffs)
    assert all(v == 0.0 for v in diffs.values()), diffs
    sd = a['state_dict']
    assert any(k.startswith('student.') for k in sd) and any(k.startswith('teacher.') for k in sd)
    assert int(sd['memory_bank.count'].sum()) > 0  # the bank holds negatives
    hub_a, hub_b = a['message_hub']['log_scalars'], b['message_hub']['log_scalars']
    assert hub_a['train/alpha_t'].current() == hub_b['train/alpha_t'].current()
    assert len(loss_a) == K and loss_a == loss_b, (loss_a, loss_b)


@pytest.mark.slow
@pytest.mark.parametrize('num_workers', [0, 2])
def test_interrupt_and_resume_is_exact(workspace, num_workers):
    a, b, loss_a, loss_b = straight_and_resumed(workspace, f'w{num_workers}',
                                                workers(num_workers))
    assert_same_run(a, b, loss_a, loss_b)


@pytest.mark.slow
def test_resume_without_random_states_differs(workspace):
    """Control: without RandomStateHook the resumed run is another run (so
    the test above can fail)."""
    opts = workers(0) + ['default_hooks.random_state.type=NoOpHook']
    a, b, loss_a, loss_b = straight_and_resumed(workspace, 'control', opts)
    assert 'random_states' not in a
    student = {k: v for k, v in a['state_dict'].items() if k.startswith('student.')}
    diff = max_abs_diff(student, {k: b['state_dict'][k] for k in student})
    print('without RandomStateHook, max |straight - resumed| of the student:', diff)
    assert diff > 0 and loss_a != loss_b
