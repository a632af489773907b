# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmseg_u2pl.datasets.synthetic import (SYNTHETIC_CLASSES,
                                           SyntheticShapesDataset,
                                           generate_synthetic_dataset,
                                           render_sample)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PARAMS = dict(num_train=40, num_val=6, size=64, seed=0)


@pytest.fixture(scope='module')
def dataset_root(tmp_path_factory):
    return generate_synthetic_dataset(
        str(tmp_path_factory.mktemp('shapes')), **PARAMS)


def _files(root):
    return sorted(
        osp.relpath(p, root)
        for p in glob.glob(osp.join(root, '*_dir', '*', '*.png')))


def test_layout(dataset_root):
    files = _files(dataset_root)
    assert len(files) == 2 * (PARAMS['num_train'] + PARAMS['num_val'])
    for subset, n in (('train', PARAMS['num_train']), ('val',
                                                       PARAMS['num_val'])):
        for folder in ('img_dir', 'ann_dir'):
            names = sorted(os.listdir(osp.join(dataset_root, folder, subset)))
            assert names == [f'{i:06d}.png' for i in range(n)]
    img = cv2.imread(osp.join(dataset_root, 'img_dir', 'train', '000000.png'),
                     cv2.IMREAD_UNCHANGED)
    ann = cv2.imread(osp.join(dataset_root, 'ann_dir', 'train', '000000.png'),
                     cv2.IMREAD_UNCHANGED)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert ann.shape == (64, 64) and ann.dtype == np.uint8
    with open(osp.join(dataset_root, '.complete')) as f:
        assert json.load(f)['num_train'] == PARAMS['num_train']


def test_deterministic(dataset_root, tmp_path):
    other = generate_synthetic_dataset(str(tmp_path / 'again'), **PARAMS)
    assert _files(other) == _files(dataset_root)
    for rel in _files(dataset_root):
        with open(osp.join(dataset_root, rel), 'rb') as f1, open(
                osp.join(other, rel), 'rb') as f2:
            assert f1.read() == f2.read(), rel
    a = render_sample(np.random.default_rng(5), 64)
    b = render_sample(np.random.default_rng(5), 64)
    c = render_sample(np.random.default_rng(6), 64)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_different_seed_differs(dataset_root, tmp_path):
    other = generate_synthetic_dataset(
        str(tmp_path / 'seed1'), num_train=2, num_val=0, size=64, seed=1)
    name = osp.join('img_dir', 'train', '000000.png')
    with open(osp.join(dataset_root, name), 'rb') as f1, open(
            osp.join(other, name), 'rb') as f2:
        assert f1.read() != f2.read()


def test_labels(dataset_root):
    num_classes = len(SYNTHETIC_CLASSES)
    assert num_classes == 6
    counts = np.zeros(num_classes, np.int64)
    for path in sorted(
            glob.glob(osp.join(dataset_root, 'ann_dir', 'train', '*.png'))):
        ann = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        assert ann.max() < num_classes, path
        hist = np.bincount(ann.ravel(), minlength=num_classes)
        assert hist[0] > 0, f'{path} has no background'
        assert hist[1:].sum() > 0, f'{path} has no object'
        counts += hist
    assert (counts > 0).all(), counts
    # objects are a sizeable part of the images, background dominates
    frac = counts / counts.sum()
    assert 0.5 < frac[0] < 0.95, frac
    assert (frac[1:] > 0.01).all(), frac


def test_images_not_trivial(dataset_root):
    """Colour alone must not give the class: mean colours of the classes
    overlap widely (per-class colour std dominates between-class spread)."""
    pixels = {c: [] for c in range(1, len(SYNTHETIC_CLASSES))}
    for i in range(PARAMS['num_train']):
        name = f'{i:06d}.png'
        img = cv2.imread(osp.join(dataset_root, 'img_dir', 'train', name))
        ann = cv2.imread(
            osp.join(dataset_root, 'ann_dir', 'train', name),
            cv2.IMREAD_UNCHANGED)
        for c in pixels:
            if (ann == c).any():
                pixels[c].append(img[ann == c].mean(0))
    means = np.array([np.mean(v, 0) for v in pixels.values()])
    stds = np.array([np.std(v, 0) for v in pixels.values()])
    assert (means.std(0) < stds.mean(0)).all()


def test_idempotent(tmp_path):
    root = str(tmp_path / 'idem')
    generate_synthetic_dataset(root, num_train=3, num_val=1, size=48)
    path = osp.join(root, 'img_dir', 'train', '000000.png')
    marker = osp.join(root, '.complete')
    old = 1_000_000_000
    os.utime(path, (old, old))
    os.utime(marker, (old, old))
    assert generate_synthetic_dataset(
        root, num_train=3, num_val=1, size=48) == root
    assert os.stat(path).st_mtime == old
    assert os.stat(marker).st_mtime == old
    # other parameters regenerate, dropping stale files
    generate_synthetic_dataset(root, num_train=2, num_val=1, size=48)
    assert os.stat(path).st_mtime != old
    assert sorted(os.listdir(osp.join(root, 'ann_dir', 'train'))) == [
        '000000.png', '000001.png'
    ]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        generate_synthetic_dataset(str(tmp_path), num_train=0)
    with pytest.raises(ValueError, match='size'):
        generate_synthetic_dataset(str(tmp_path), size=8)


def test_mmseg_dataset(dataset_root):
    from mmengine.registry import init_default_scope

    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    dataset = SyntheticShapesDataset(
        data_root=dataset_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=pipeline)
    assert len(dataset) == PARAMS['num_train']
    assert dataset.metainfo['classes'] == SYNTHETIC_CLASSES
    assert len(dataset.metainfo['palette']) == len(SYNTHETIC_CLASSES)
    item = dataset[0]
    assert tuple(item['inputs'].shape) == (3, 64, 64)
    seg = item['data_samples'].gt_sem_seg.data
    assert tuple(seg.shape) == (1, 64, 64)
    assert int(seg.max()) < len(SYNTHETIC_CLASSES)
    # also buildable from a config
    built = DATASETS.build(
        dict(
            type='SyntheticShapesDataset',
            data_root=dataset_root,
            data_prefix=dict(
                img_path='img_dir/val', seg_map_path='ann_dir/val'),
            pipeline=pipeline))
    assert len(built) == PARAMS['num_val']


def test_cli(tmp_path):
    root = str(tmp_path / 'cli')
    res = subprocess.run([
        sys.executable, osp.join(REPO_ROOT, 'tools/dataset_converters/synthetic.py'), root,
        '--num-train', '2', '--num-val', '1', '--size', '48'
    ],
                         capture_output=True,
                         text=True,
                         cwd=REPO_ROOT,
                         env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert res.returncode == 0, res.stderr
    assert 'train=2' in res.stdout and 'val=1' in res.stdout
    assert osp.isfile(osp.join(root, 'ann_dir', 'val', '000000.png'))
