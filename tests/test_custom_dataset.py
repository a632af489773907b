# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The README's custom-dataset path, worked end to end on generated data (slow):
a 3-class dataset in MMSeg's layout with .jpg images, split by
tools/make_semi_splits.py, trained with U2PL by tools/train.py and evaluated
by tools/test.py, with the config the README shows."""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
pytestmark = pytest.mark.slow

CONFIG = """
_base_ = '{root}/configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'
classes = ('background', 'disc', 'bar')        # the one place the classes are named
dataset = dict(type='BaseSegDataset', data_root='data/my_dataset', img_suffix='.jpg',
               seg_map_suffix='.png', metainfo=dict(classes=classes))
train_dataloader = dict(dataset=dict(
    labeled=dict(dataset, ann_file='data/splits/my_dataset/1-4/labeled.txt'),
    unlabeled=dict(dataset, ann_file='data/splits/my_dataset/1-4/unlabeled.txt')))
val_dataloader = dict(dataset=dict(dataset, data_prefix=dict(
    img_path='img_dir/val', seg_map_path='ann_dir/val'), ann_file=''))
test_dataloader = val_dataloader
model = dict(
    segmentor=dict(decode_head=dict(num_classes=len(classes))),
    # U2PL's rank thresholds need r_l < number of classes (the default 3 is refused)
    contrastive_head=dict(low_rank=1, high_rank=2))
"""


def write_dataset(root, n_train=16, n_val=4, size=64):
    rng = np.random.default_rng(0)
    for subset, n in (('train', n_train), ('val', n_val)):
        os.makedirs(root / 'img_dir' / subset, exist_ok=True)
        os.makedirs(root / 'ann_dir' / subset, exist_ok=True)
        for i in range(n):
            label = np.zeros((size, size), np.uint8)
            cy, cx = rng.integers(16, 48, 2)
            yy, xx = np.mgrid[:size, :size]
            label[(yy - cy)**2 + (xx - cx)**2 < 100] = 1
            r = int(rng.integers(0, size - 8))
            bar = label[r:r + 8]
            bar[bar == 0] = 2  # a horizontal bar behind the disc
            img = np.stack([label * 90 + rng.integers(0, 40, (size, size))] * 3, -1)
            cv2.imwrite(str(root / 'img_dir' / subset / f'{i:03d}.jpg'), img.astype(np.uint8))
            cv2.imwrite(str(root / 'ann_dir' / subset / f'{i:03d}.png'), label)


def test_custom_dataset_trains_and_evaluates(tmp_path):
    write_dataset(tmp_path / 'data/my_dataset')
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', OMP_NUM_THREADS='1')

    def run(args):
        proc = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    code, out = run([osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg', '--data-root',
                     'data/my_dataset', '--img-suffix', '.jpg', '--fraction', '0.25',
                     '--out', 'data/splits/my_dataset/1-4'])
    assert code == 0, out[-3000:]
    (tmp_path / 'my_u2pl.py').write_text(CONFIG.format(root=ROOT))
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=2', 'custom_hooks.0.warm_start_epochs=0',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
            'train_dataloader.sampler.labeled_per_batch=2',
            'train_dataloader.sampler.unlabeled_per_batch=2', 'train_dataloader.batch_size=4']
    code, out = run([osp.join(ROOT, 'tools/train.py'), 'my_u2pl.py', '--work-dir', 'work',
                     '--cfg-options', *opts])
    assert code == 0, out[-4000:]
    assert re.search(r'mIoU: [\d.]+', out) and 'loss_contrast' in out
    code, out = run([osp.join(ROOT, 'tools/test.py'), 'my_u2pl.py', 'work/iter_2.pth',
                     '--cfg-options', 'test_dataloader.num_workers=0',
                     'test_dataloader.persistent_workers=False'])
    assert code == 0 and re.search(r'disc\s*\|', out), out[-3000:]
