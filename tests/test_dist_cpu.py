# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""U2PL with 2 CPU processes (gloo) through tools/dist_train.sh (slow)."""
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_two_processes(tmp_path, extra_hooks=(), opts=(), check=True, nodes=1):
    """U2PL for 6 iterations on 2 gloo processes through tools/dist_train.sh
    (1 "machine" x 2 processes, or 2 x 1 with NNODES/NODE_RANK/MASTER_ADDR);
    returns the return code and the output."""
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    data = tmp_path / 'data/synthetic'
    generate_synthetic_dataset(str(data), num_train=48, num_val=4, seed=2)
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', PYTHON=sys.executable,
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg',
                    '--data-root', str(data), '--num-labeled', '8', '--out',
                    'data/splits/synthetic/1-16'], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    base = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
    hooks = ''.join(f'    {h},\n' for h in extra_hooks)
    (tmp_path / 'cfg.py').write_text(
        f"_base_ = '{base}'\n"
        "custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [\n"
        "    dict(type='SemiScheduleHook', warm_start_epochs=0),\n"
        "    dict(type='MeanTeacherHook', decay=0.99),\n"
        f"{hooks}]\n")
    opts = [*opts, 'train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'param_scheduler.0.end=6',
            'default_hooks.checkpoint.interval=6', 'default_hooks.logger.interval=1',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'model.semi_test_cfg.predict_on=teacher']
    cmd = ['bash', osp.join(ROOT, 'tools/dist_train.sh'), 'cfg.py', str(2 // nodes),
           '--work-dir', 'work', '--cfg-options', *opts]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              env=dict(env, NNODES=str(nodes), NODE_RANK=str(node),
                                       MASTER_ADDR='127.0.0.1'))
             for node in range(nodes)]
    outs = [p.communicate(timeout=300)[0] for p in procs]  # a hang fails, not blocks CI
    code, out = max(p.returncode for p in procs), '\n'.join(outs)
    if check:
        assert code == 0, out[-6000:]
    return code, out


def check_ranks_in_sync(tmp_path, out):
    """Both ranks finished with identical weights and banks, finite losses."""
    states = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    assert states[0]['iter'] == states[1]['iter'] == 6
    # weights and memory banks are identical on both ranks; with plain BN (SyncBN
    # needs CUDA) the BN running statistics are per rank, as in MMEngine's DDP
    bn_stat = ('running_mean', 'running_var', 'num_batches_tracked')
    differing = []
    for part in ('student', 'teacher', 'bank'):
        for k, v in states[0][part].items():
            if k.endswith(bn_stat):
                differing.append(not torch.equal(v, states[1][part][k]))
                continue
            assert torch.equal(v, states[1][part][k]), (part, k)
    assert any(differing)  # the ranks did see different images
    print('2 processes: bank entries per rank',
          [int(st['bank']['count'].sum()) for st in states], 'max |rank0 - rank1| of the banks',
          max((states[0]['bank'][k].double() - states[1]['bank'][k].double()).abs().max().item()
              for k in states[0]['bank']), 'and of the teachers',
          max((states[0]['teacher'][k].double() - states[1]['teacher'][k].double()).abs().max()
              .item() for k in states[0]['teacher'] if not k.endswith(bn_stat)))
    assert int(states[0]['bank']['count'].sum()) > 0  # negatives were pushed
    losses = [float(v) for v in re.findall(r' loss: ([-\d.e+naif]+)', out)]
    assert len(losses) >= 6
    ckpt = torch.load(tmp_path / 'work/iter_6.pth')
    # every rank's random state is in the checkpoint (exact resume under DDP)
    assert len(ckpt['random_states']) == 2
    return states, losses


def dump(tmp_path, starve_rank=None):
    return f"dict(type='DumpRankStateHook', out_dir='{tmp_path}', starve_rank={starve_rank})"


@pytest.mark.slow
def test_two_machines_u2pl_ranks_stay_in_sync_then_dist_test(tmp_path):
    """2 "machines" x 1 process (NNODES=2, NODE_RANK, MASTER_ADDR), then
    tools/dist_test.sh with 2 processes on the checkpoint."""
    _, out = run_two_processes(tmp_path, [dump(tmp_path)], nodes=2)
    _, losses = check_ranks_in_sync(tmp_path, out)
    assert all(torch.isfinite(torch.tensor(losses)))
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', PYTHON=sys.executable,
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_test.sh'), 'cfg.py',
                           'work/iter_6.pth', '2', '--work-dir', 'work_test', '--cfg-options',
                           'test_dataloader.num_workers=0',
                           'test_dataloader.persistent_workers=False'],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    found = re.findall(r'mIoU: ([\d.]+)', out)
    assert found and 0.0 <= float(found[-1]) <= 100.0, out[-3000:]


@pytest.mark.slow
def test_rank_without_anchors_or_negatives_does_not_hang(tmp_path):
    """Rank 1 has no anchor and no negative in any step (the reference code's
    DDP hang): training finishes, ranks stay identical, and rank 0's
    negatives still reach rank 1's bank."""
    _, out = run_two_processes(tmp_path, [dump(tmp_path, starve_rank=1)])
    states, losses = check_ranks_in_sync(tmp_path, out)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert int(states[1]['bank']['count'].sum()) > 0


def inject(tmp_path, at_iters, term, rank):
    return (f"dict(type='InjectNonFiniteLossHook', at_iters={at_iters}, term='{term}', "
            f"out_dir='{tmp_path}', rank={rank})")


@pytest.mark.slow
def test_nonfinite_loss_on_one_rank_stops_every_rank(tmp_path):
    """loss_unsup becomes NaN on rank 1 only: both ranks stop with the error
    (no rank is left waiting in the gradient all-reduce)."""
    code, out = run_two_processes(tmp_path, [inject(tmp_path, [3], 'loss_unsup', 1)], check=False)
    assert code != 0
    assert 'NonFiniteLossError: Non-finite loss at iteration 3/6: loss_unsup=nan (rank 1)' in out
    assert not (tmp_path / 'work/iter_6.pth').exists()


@pytest.mark.slow
def test_nonfinite_loss_skipped_on_every_rank(tmp_path):
    """With on_nonfinite='skip', a NaN on rank 1 skips the step on both
    ranks: weights and optimizer state are unchanged in those steps and stay
    identical across ranks."""
    hooks = [dump(tmp_path), inject(tmp_path, [3, 4], 'loss_contrast', 1)]
    _, out = run_two_processes(tmp_path, hooks,
                               opts=['default_hooks.nonfinite_loss.on_nonfinite=skip'])
    check_ranks_in_sync(tmp_path, out)
    assert 'skipped iteration 3/6: loss_contrast=nan (rank 1)' in out
    assert 'skipped iteration 4/6: loss_contrast=nan (rank 1)' in out
    for rank in range(2):
        changed = torch.load(tmp_path / f'nonfinite_rank{rank}.pth')['changed']
        assert changed == {1: True, 2: True, 3: False, 4: False, 5: True, 6: True}, changed


def test_nccl_without_cuda_is_refused_clearly():
    from mmengine.config import Config
    from mmseg_u2pl.utils import init_cpu_distributed
    if torch.cuda.is_available():
        pytest.skip('only meaningful without CUDA')
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(ValueError, match='backend=gloo'):
        init_cpu_distributed(cfg)
    assert not init_cpu_distributed(Config(dict(launcher='none')))
