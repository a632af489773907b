# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""SemiVisualizationHook: the panels it draws, and that drawing leaves the
run unchanged."""
import glob
import os.path as osp
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.visualization import Visualizer

from mmseg.registry import HOOKS, MODELS
from mmseg_u2pl.engine import semi_panel
from _tiny import make_batch, tiny_u2pl_cfg


def test_panel_columns():
    H, W, C = 6, 5, 3
    img = np.full((H, W, 3), 7, np.uint8)
    probs = torch.zeros(C, H, W)
    probs[1] = 1.0                                  # certain: entropy 0, argmax 1
    probs[:, 0, 0] = 1 / 3                          # uniform: entropy 1
    valid = torch.ones(H, W, dtype=torch.bool)
    valid[:, -1] = False                            # padding
    reliable = valid.clone()
    reliable[0, 0] = False
    pseudo = torch.where(reliable, torch.ones(H, W, dtype=torch.long), torch.tensor(255))
    palette = [[10, 10, 10], [200, 0, 0], [0, 0, 200]]
    panel = semi_panel(img, probs, pseudo, reliable, valid, palette)
    assert panel.shape == (H, 5 * W + 4 * 4, 3)
    cols = [panel[:, k * (W + 4):k * (W + 4) + W] for k in range(5)]
    assert (cols[0] == 7).all()
    assert (cols[1][1, 1] == [200, 0, 0]).all() and (cols[1][:, -1] == 0).all()
    assert cols[2][0, 0].sum() > cols[2][1, 1].sum()         # uncertain is brighter
    assert (cols[3][0, 0] == 0).all() and (cols[3][1, 1] == [200, 0, 0]).all()
    assert (cols[4][1, 1] == 255).all() and (cols[4][0, 0] == [220, 30, 30]).all()
    assert (cols[4][:, -1] == 0).all()


def test_hook_draws_through_the_visualizer_and_leaves_the_rng(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_u2pl_cfg())
    model.init_weights()
    vis = Visualizer(name='semi_vis_test', vis_backends=[dict(type='LocalVisBackend')],
                     save_dir=str(tmp_path))
    runner = SimpleNamespace(model=model, visualizer=vis, iter=9,
                             logger=SimpleNamespace(warning=print))
    batch = make_batch(num_labeled=2, num_unlabeled=3)
    hook = HOOKS.build(dict(type='SemiVisualizationHook', interval=10, num_images=2,
                            enable=True))
    state = torch.get_rng_state()
    hook.after_train_iter(runner, 0, batch)
    assert torch.equal(torch.get_rng_state(), state)
    files = sorted(glob.glob(osp.join(str(tmp_path), '**', '*.png'), recursive=True))
    assert [osp.basename(f) for f in files] == ['semi_unlabeled_0_10.png',
                                                 'semi_unlabeled_1_10.png']
    runner.iter = 10  # not a multiple of the interval: nothing
    hook.after_train_iter(runner, 0, batch)
    assert len(glob.glob(osp.join(str(tmp_path), '**', '*.png'), recursive=True)) == 2
    off = HOOKS.build(dict(type='SemiVisualizationHook', interval=1))  # enable=False
    runner.iter = 19
    off.after_train_iter(runner, 0, batch)
    assert len(glob.glob(osp.join(str(tmp_path), '**', '*.png'), recursive=True)) == 2
