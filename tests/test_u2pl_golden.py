# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""A redesign must not change what a U2PL step computes (slow).

Reruns the training of ``tests/golden/u2pl_steps.py`` and compares every
logged loss, the gradient fingerprint of every student parameter at every
iteration, and the final teacher and memory bank with the recorded file.
Both run in a fresh process with the portable numerics of ``u2pl_steps``
(baseline kernels, one thread, oneDNN off), so the comparison holds on any
x86 CPU, not only on the one that made the record.
"""
import os
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), 'golden'))
import u2pl_steps  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def recorded():
    return torch.load(u2pl_steps.RECORD)


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp('golden'))
    u2pl_steps.make_data(tmp)
    return tmp


def close(actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    # 1e-6 of each tensor's own scale (gradients are ~1e-3, losses ~1)
    scale = expected.abs().amax(dim=-1, keepdim=True).clamp(min=1e-12)
    err = ((actual - expected).abs() / scale).amax()
    assert err <= 1e-6, f'{what}: largest difference {float(err):.3g} x the tensor scale'


@pytest.mark.parametrize('variant', sorted(u2pl_steps.VARIANTS))
def test_u2pl_steps_unchanged(variant, recorded, data_dir):
    expected = recorded['variants'][variant]
    out = osp.join(data_dir, f'{variant}.pt')
    u2pl_steps.run_portable(['--variant', variant, '--data', data_dir, '--out', out],
                            capture_output=True)
    actual = torch.load(out)
    assert len(actual['losses']) == len(expected['losses']) == u2pl_steps.MAX_ITERS
    for it, (a, e) in enumerate(zip(actual['losses'], expected['losses'])):
        assert sorted(a) == sorted(e), f'iteration {it}: logged keys differ'
        for key in e:
            assert a[key] == pytest.approx(e[key], rel=1e-6, abs=1e-6), (it, key)
    assert actual['grad_names'] == expected['grad_names']
    close(actual['grads'], expected['grads'], 'gradients')
    assert actual['final_names'] == expected['final_names']
    close(actual['final'], expected['final'], 'teacher and memory bank')


def test_generator_refuses_machine_dependent_numerics(tmp_path):
    """Run without PORTABLE_ENV, the generator stops instead of writing a record
    (or a rerun) that only this machine can reproduce."""
    import subprocess
    env = {k: v for k, v in os.environ.items() if k not in u2pl_steps.PORTABLE_ENV}
    proc = subprocess.run([sys.executable, u2pl_steps.__file__, '--variant', 'paper',
                           '--data', str(tmp_path), '--out', str(tmp_path / 'x.pt')],
                          env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'ATEN_CPU_CAPABILITY' in proc.stderr and 'run_portable' in proc.stderr
    assert not (tmp_path / 'x.pt').exists()


def test_recorded_file_exercises_the_contrastive_loss(recorded):
    """The record is not trivial: L_c is active in the paper variants."""
    for name in ('paper', 'binary', 'negatives_all_in_batch'):
        semi = recorded['variants'][name]['losses'][2:]
        assert all(step['loss_contrast'] > 0 and step['contrast_classes'] >= 2
                   for step in semi), name
    assert 'loss_contrast' not in recorded['variants']['cutmix_seg']['losses'][-1]
