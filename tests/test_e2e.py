# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""End to end through tools/train.py and tools/test.py (CPU, slow)."""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def miou(text):
    found = re.findall(r'mIoU: ([\d.]+)', text)
    assert found, text[-3000:]
    return float(found[-1])


@pytest.mark.slow
def test_u2pl_synthetic_train_and_test(tmp_path):
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    data = tmp_path / 'data/synthetic'
    generate_synthetic_dataset(str(data), num_train=64, num_val=8, seed=1)
    run([osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg', '--data-root', str(data),
         '--num-labeled', '8', '--seed', '0', '--out', 'data/splits/synthetic/1-16'],
        cwd=tmp_path)
    cfg = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
    opts = ['train_cfg.max_iters=24', 'train_cfg.val_interval=24', 'param_scheduler.0.end=24',
            'default_hooks.checkpoint.interval=24', 'default_hooks.logger.interval=4',
            'custom_hooks.0.warm_start_epochs=0.5', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    out = run([osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', 'work', '--cfg-options',
               *opts], cwd=tmp_path)
    # 56 unlabeled / 4 per iteration = 14 it/epoch: warm start until iteration 7
    assert 'warm start until iteration 7' in out
    losses = [float(v) for v in re.findall(r'loss_contrast: ([-\d.e]+)', out)]
    assert losses and all(np.isfinite(losses)) and any(v > 0 for v in losses)
    ckpt = tmp_path / 'work/iter_24.pth'
    assert ckpt.is_file()
    out = run([osp.join(ROOT, 'tools/test.py'), cfg, str(ckpt), '--work-dir', 'work_test',
               '--cfg-options', *opts], cwd=tmp_path)
    assert 0.0 <= miou(out) <= 100.0


def fake_cityscapes(root, n_train=4, n_val=2, size=(96, 48)):
    rng = np.random.default_rng(0)
    stems = {}
    for subset, n in (('train', n_train), ('val', n_val)):
        stems[subset] = []
        for i in range(n):
            city = 'aachen' if i % 2 == 0 else 'bochum'
            stem = f'{city}_{i:06d}_000019'
            img_dir = root / 'leftImg8bit' / subset / city
            ann_dir = root / 'gtFine' / subset / city
            img_dir.mkdir(parents=True, exist_ok=True)
            ann_dir.mkdir(parents=True, exist_ok=True)
            w, h = size
            cv2.imwrite(str(img_dir / f'{stem}_leftImg8bit.png'),
                        rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
            label = rng.integers(0, 19, (h, w), dtype=np.uint8)
            label[:4] = 255
            cv2.imwrite(str(ann_dir / f'{stem}_gtFine_labelTrainIds.png'), label)
            stems[subset].append(f'{city}/{stem}')
    return stems


@pytest.mark.slow
def test_cityscapes_config_two_iterations(tmp_path):
    fake_cityscapes(tmp_path / 'data/cityscapes')
    run([osp.join(ROOT, 'tools/make_semi_splits.py'), 'cityscapes', '--data-root',
         'data/cityscapes', '--num-labeled', '2', '--seed', '0', '--out',
         'data/splits/cityscapes/1-16'], cwd=tmp_path)
    cfg = osp.join(ROOT, 'configs/u2pl/u2pl_r101_cityscapes_1-16.py')
    crop = '(49,49)'
    opts = [
        'train_cfg.max_iters=2', 'train_cfg.max_epochs=None', 'train_cfg.val_interval=2',
        'param_scheduler.0.end=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'custom_hooks.0.warm_start_epochs=0', 'model.segmentor.pretrained=None',
        f'model.segmentor.test_cfg.crop_size={crop}', 'model.segmentor.test_cfg.stride=(33,33)',
        'model.memory_bank.length=500',
        'train_dataloader.dataset.labeled.pipeline.3.scale=(96,48)',
        f'train_dataloader.dataset.labeled.pipeline.4.crop_size={crop}',
        'train_dataloader.dataset.unlabeled.pipeline.1.scale=(96,48)',
        f'train_dataloader.dataset.unlabeled.pipeline.2.crop_size={crop}',
        'val_dataloader.dataset.pipeline.1.scale=(96,48)',
        'test_dataloader.dataset.pipeline.1.scale=(96,48)',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
    ]
    out = run([osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', 'work', '--cfg-options',
               *opts], cwd=tmp_path)
    assert 'loss_unsup' in out and 'loss_contrast' in out
    # the multi-GPU config's SyncBN runs as BN in a single process (MMEngine)
    assert 'all SyncBatchNorm (SyncBN) layers in the model will be automatically ' \
        'reverted to BatchNormXd' in out
    ckpt = tmp_path / 'work/iter_2.pth'
    assert ckpt.is_file()
    out = run([osp.join(ROOT, 'tools/test.py'), cfg, str(ckpt), '--work-dir', 'work_test',
               '--cfg-options', *opts], cwd=tmp_path)
    assert 0.0 <= miou(out) <= 100.0
