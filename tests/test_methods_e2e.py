# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Mean Teacher, CutMix-Seg, CPS, AEL, U2PL w/ AEL and ESL end to end (slow): a
few iterations through tools/train.py, interrupted and resumed exactly,
evaluated by tools/test.py; CPS and AEL on 2 gloo processes with both
networks (CPS) and the confidence bank (AEL) in sync."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from _tiny import make_synthetic_split
from test_dist_cpu import free_port
from test_resume import max_abs_diff, train, workers

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
K = 3  # interrupted after iteration K, 2K in all; warm start 1 iteration

CONFIGS = {
    'mean_teacher': 'configs/mean_teacher/mean-teacher_r18-tiny_synthetic_1-16.py',
    'cutmix_seg': 'configs/cutmix_seg/cutmix-seg_r18-tiny_synthetic_1-16.py',
    'cps': 'configs/cps/cps_r18-tiny_synthetic_1-16.py',
    'ael': 'configs/ael/ael_r18-tiny_synthetic_1-16.py',
    'u2pl_ael': 'configs/u2pl_ael/u2pl-ael_r18-tiny_synthetic_1-16.py',
    'esl': 'configs/esl/esl_r18-tiny_synthetic_1-16.py',
}
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('methods')
    make_synthetic_split(tmp, seed=3)
    for name, path in CONFIGS.items():
        (tmp / f'{name}.py').write_text(
            f"_base_ = '{osp.join(ROOT, path)}'\n"
            "custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks'])\n"
            f'train_cfg = dict(max_iters={2 * K}, val_interval={2 * K})\n'
            f'param_scheduler = [dict(type="PolyLR", eta_min=0.0, power=0.9, begin=0, '
            f'end={2 * K}, by_epoch=False)]\n'
            f'default_hooks = dict(checkpoint=dict(interval={K}, max_keep_ckpts=3), '
            'logger=dict(interval=1))\n')
        (tmp / f'{name}_interrupted.py').write_text(
            f"_base_ = './{name}.py'\n"
            f"default_hooks = dict(interrupt=dict(type='InterruptAtHook', at_iter={K}))\n")
    return tmp


def losses(out):
    return re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\].*? loss: ([-\d.e+naif]+)', out)


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_method_trains_resumes_exactly_and_is_evaluated(workspace, method):
    # 40 unlabeled / 4 per iteration: 10 iterations per epoch; warm start 0.1 epoch
    opts = workers(0) + ['custom_hooks.0.warm_start_epochs=0.1']
    _, out_a = train([f'{method}.py', '--work-dir', f'{method}_a', '--cfg-options', *opts],
                     workspace)
    code, out = train([f'{method}_interrupted.py', '--work-dir', f'{method}_b',
                       '--cfg-options', *opts], workspace, check=False)
    assert code != 0 and 'simulated interruption' in out, out[-3000:]
    _, out_b = train([f'{method}.py', '--work-dir', f'{method}_b', '--resume',
                      '--cfg-options', *opts], workspace)
    assert f'resumed epoch: 0, iter: {K}' in out_b
    a = torch.load(workspace / f'{method}_a' / f'iter_{2 * K}.pth')
    b = torch.load(workspace / f'{method}_b' / f'iter_{2 * K}.pth')
    for part in ('state_dict', 'optimizer', 'random_states'):
        assert max_abs_diff(a[part], b[part]) == 0.0, part
    second = 'peer' if method == 'cps' else 'teacher'
    assert any(k.startswith(f'{second}.') for k in a['state_dict'])
    la = [v for i, v in losses(out_a) if int(i) > K]
    lb = [v for i, v in losses(out_b) if int(i) > K]
    assert len(la) == K and la == lb
    assert all(v not in ('nan', 'inf') for _, v in losses(out_a))
    # the unsupervised term is trained after the warm start
    term = 'loss_cps' if method == 'cps' else 'loss_unsup'
    assert term in out_a
    if method in ('u2pl_ael', 'esl'):
        assert 'loss_contrast' in out_a
    if method == 'esl':  # prototypes and (class, part) queues saved and resumed
        assert a['state_dict']['part_prototypes.initialized'].any()
        assert a['state_dict']['memory_bank.count'].sum() > 0
    if 'ael' in method:  # the confidence bank is saved, and resumed exactly (above)
        assert a['state_dict']['confidence_bank.confidence'].abs().sum() > 0
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/test.py'), f'{method}.py',
         f'{method}_a/iter_{2 * K}.pth', '--work-dir', f'{method}_test', '--cfg-options',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'],
        cwd=workspace, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    found = re.findall(r'mIoU: ([\d.]+)', out)
    assert found and 0.0 <= float(found[-1]) <= 100.0


def train_two_processes(workspace, method, hooks):
    """tools/dist_train.sh on 2 gloo processes; each rank's model state."""
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', PYTHON=sys.executable,
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    (workspace / f'{method}_dist.py').write_text(
        f"_base_ = './{method}.py'\n"
        f"custom_hooks = [{hooks}dict(type='DumpNetworksHook', out_dir='{workspace}')]\n")
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/dist_train.sh'), f'{method}_dist.py', '2',
         '--work-dir', f'{method}_dist', '--cfg-options', *workers(0),
         'train_cfg.val_interval=100'],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return [torch.load(workspace / f'networks_rank{r}.pth') for r in range(2)], out


def assert_same_weights(states, prefix=''):
    bn_stat = ('running_mean', 'running_var', 'num_batches_tracked')
    for k, v in states[0].items():
        if k.startswith(prefix) and not k.endswith(bn_stat):
            assert torch.equal(v, states[1][k]), k


def test_cps_two_processes_keep_both_networks_in_sync(workspace):
    states, out = train_two_processes(
        workspace, 'cps', "dict(type='SemiScheduleHook', warm_start_epochs=0), ")
    assert_same_weights(states)
    assert any(k.startswith('peer.') for k in states[0])
    assert 'loss_cps' in out


def test_ael_two_processes_share_one_confidence_bank(workspace):
    states, out = train_two_processes(
        workspace, 'ael', "dict(type='SemiScheduleHook', warm_start_epochs=0), "
        "dict(type='MeanTeacherHook', decay=0.99), ")
    bank = [s['confidence_bank.confidence'] for s in states]
    assert bank[0].abs().sum() > 0 and torch.equal(bank[0], bank[1])
    assert_same_weights(states, 'student.')
    assert 'loss_unsup' in out
