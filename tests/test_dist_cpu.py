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

HOOK = '''
import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    def __init__(self, out_dir, starve_rank=None):
        self.out_dir = out_dir
        self.starve_rank = starve_rank

    def before_train(self, runner):
        if dist.get_rank() != self.starve_rank:
            return
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        for net in (model.student, model.teacher):
            head = net.contrastive_head
            head.positive_threshold = 2.0  # no anchor can pass p(c) > 2
            head.low_rank = head.high_rank = 0  # no class is ever a negative

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if dist.get_rank() == self.starve_rank:
            assert float(outputs['contrast_classes']) == 0.0
            assert float(outputs['contrast_negatives']) == 0.0

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        torch.save(dict(teacher=model.teacher.state_dict(), student=model.student.state_dict(),
                        bank=model.memory_bank.state_dict(), iter=runner.iter),
                   f'{self.out_dir}/rank{dist.get_rank()}.pth')
'''


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_two_processes(tmp_path, starve_rank=None):
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    data = tmp_path / 'data/synthetic'
    generate_synthetic_dataset(str(data), num_train=48, num_val=4, seed=2)
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}:{ROOT}', PYTHON=sys.executable,
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg',
                    '--data-root', str(data), '--num-labeled', '8', '--out',
                    'data/splits/synthetic/1-16'], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    (tmp_path / 'dump_rank_state_hook.py').write_text(HOOK)
    base = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
    (tmp_path / 'cfg.py').write_text(
        f"_base_ = '{base}'\n"
        "custom_imports = dict(imports=['mmseg_u2pl', 'dump_rank_state_hook'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [\n"
        "    dict(type='EntropyPartitionHook', warm_start_epochs=0),\n"
        "    dict(type='MeanTeacherHook', decay=0.99),\n"
        f"    dict(type='DumpRankStateHook', out_dir='{tmp_path}', starve_rank={starve_rank}),\n"
        "]\n")
    opts = ['train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'param_scheduler.0.end=6',
            'default_hooks.checkpoint.interval=6', 'default_hooks.logger.interval=1',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'model.semi_test_cfg.predict_on=teacher']
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools/dist_train.sh'), 'cfg.py', '2',
                           '--work-dir', 'work', '--cfg-options', *opts], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
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
    assert int(states[0]['bank']['count'].sum()) > 0  # negatives were pushed
    losses = [float(v) for v in re.findall(r' loss: ([-\d.e+naif]+)', out)]
    assert len(losses) >= 6 and all(torch.isfinite(torch.tensor(losses)))
    assert (tmp_path / 'work/iter_6.pth').is_file()
    return states


@pytest.mark.slow
def test_two_process_u2pl_ranks_stay_in_sync(tmp_path):
    run_two_processes(tmp_path)


@pytest.mark.slow
def test_rank_without_anchors_or_negatives_does_not_hang(tmp_path):
    """Rank 1 has no anchor and no negative in any step (the reference code's
    DDP hang): training finishes, ranks stay identical, and rank 0's
    negatives still reach rank 1's bank."""
    states = run_two_processes(tmp_path, starve_rank=1)
    assert int(states[1]['bank']['count'].sum()) > 0


def test_nccl_without_cuda_is_refused_clearly():
    from mmengine.config import Config
    from mmseg_u2pl.utils import init_cpu_distributed
    if torch.cuda.is_available():
        pytest.skip('only meaningful without CUDA')
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(ValueError, match='backend=gloo'):
        init_cpu_distributed(cfg)
    assert not init_cpu_distributed(Config(dict(launcher='none')))
