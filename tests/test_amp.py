# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Mixed precision: every method's losses under bf16 autocast are finite and
close to fp32 on the same inputs; the fp32 islands run in fp32; an AMP run
(MMEngine's AmpOptimWrapper, bf16) resumes exactly (slow)."""
import copy
import os.path as osp

import pytest
import torch

from mmseg.registry import MODELS
from mmseg_u2pl.models.losses import anchor_infonce
from mmseg_u2pl.utils import float32
from _tiny import make_batch, tiny_segmentor_cfg, tiny_u2pl_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BN = dict(type='BN', requires_grad=True)
METHODS = {
    'u2pl': tiny_u2pl_cfg(),
    'mean_teacher': dict(type='MeanTeacherSegmentor', segmentor=tiny_segmentor_cfg()),
    'cutmix_seg': dict(type='CutMixSegSegmentor', segmentor=tiny_segmentor_cfg()),
    'cps': dict(type='CPSSegmentor', segmentor=tiny_segmentor_cfg(), semi_train_cfg=dict(
        mixer=dict(type='CutMix', prob=1.0, area=(0.25, 0.5), num_boxes=3))),
    'ael': dict(type='AELSegmentor', segmentor=tiny_segmentor_cfg()),
    'u2pl_ael': dict(tiny_u2pl_cfg(), type='U2PLAELSegmentor'),
    'esl': dict(type='ESLSegmentor', segmentor=tiny_segmentor_cfg(),
                projector=dict(channels=8, norm_cfg=BN), memory_bank=dict(length=16)),
}


@pytest.mark.parametrize('name', sorted(METHODS))
def test_bf16_losses_are_finite_and_close_to_fp32(name):
    torch.manual_seed(0)
    model = MODELS.build(METHODS[name])
    model.init_weights()
    model.eval()  # no dropout: the same computation in both precisions
    data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=2), training=True)
    if name == 'esl':  # fill the (class, part) queues first, so that L_CTR is not 0
        model.loss(data['inputs'], data['data_samples'])
    out = {}
    for bf16 in (False, True):
        m = copy.deepcopy(model)  # banks and queues: the same state for both
        torch.manual_seed(1)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            losses = m.loss(data['inputs'], data['data_samples'])
        out[bf16] = {k: v for k, v in losses.items() if 'loss' in k}
    for key, ref in out[False].items():
        got = out[True][key]
        assert torch.isfinite(got).all() and got.dtype == torch.float32, key
        # sampled terms (contrastive anchors drawn among bf16-scored pixels) move more
        rel = 0.1 if 'contrast' in key else 0.02
        assert float(got) == pytest.approx(float(ref), rel=rel, abs=1e-3), key


def test_fp32_islands_run_with_autocast_off():
    torch.manual_seed(0)
    a, p, n = torch.randn(6, 8), torch.randn(6, 8), torch.randn(6, 5, 8)
    ref = anchor_infonce(a, p, n, 0.1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert (a @ p.t()).dtype == torch.bfloat16  # autocast is on here
        got = anchor_infonce(a.bfloat16(), p.bfloat16(), n.bfloat16(), 0.1)

        @float32
        def inner(x):
            return x @ x.t(), torch.is_autocast_enabled('cpu')

        prod, enabled = inner(a.bfloat16())
    assert got.dtype == torch.float32 and prod.dtype == torch.float32 and not enabled
    assert float(got) == pytest.approx(float(ref), rel=2e-2)


@pytest.mark.slow
def test_amp_run_resumes_exactly(tmp_path):
    from _tiny import make_synthetic_split
    from test_resume import max_abs_diff, train, workers
    make_synthetic_split(tmp_path, seed=3)
    (tmp_path / 'amp.py').write_text(
        f"_base_ = '{ROOT}/configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'\n"
        "custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks', 'cpu_amp'])\n"
        "optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')\n"
        "train_cfg = dict(max_iters=4, val_interval=4)\n"
        "default_hooks = dict(checkpoint=dict(interval=2, max_keep_ckpts=3), "
        "logger=dict(interval=1))\n")
    (tmp_path / 'amp_interrupted.py').write_text(
        "_base_ = './amp.py'\n"
        "default_hooks = dict(interrupt=dict(type='InterruptAtHook', at_iter=2))\n")
    opts = workers(0) + ['custom_hooks.0.warm_start_epochs=0']
    _, out_a = train(['amp.py', '--work-dir', 'a', '--cfg-options', *opts], tmp_path)
    code, out = train(['amp_interrupted.py', '--work-dir', 'b', '--cfg-options', *opts],
                      tmp_path, check=False)
    assert code != 0 and 'simulated interruption' in out, out[-3000:]
    train(['amp.py', '--work-dir', 'b', '--resume', '--cfg-options', *opts], tmp_path)
    a = torch.load(tmp_path / 'a' / 'iter_4.pth', weights_only=False)
    b = torch.load(tmp_path / 'b' / 'iter_4.pth', weights_only=False)
    assert 'loss_scaler' in a['optimizer']  # AmpOptimWrapper's state was saved
    for part in ('state_dict', 'optimizer'):
        assert max_abs_diff(a[part], b[part]) == 0.0, part
    assert all(torch.isfinite(v).all() for v in a['state_dict'].values()
               if v.is_floating_point())
