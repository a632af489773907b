# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import itertools

import cv2
import numpy as np
import pytest

from mmseg.registry import DATASETS
from mmseg_u2pl.datasets import SemiSupervisedSampler


def write_tree(root, n=8, size=16):
    rng = np.random.default_rng(0)
    for d in ('img_dir/train', 'ann_dir/train'):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(root / f'img_dir/train/{i:03d}.png'),
                    rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
        cv2.imwrite(str(root / f'ann_dir/train/{i:03d}.png'),
                    rng.integers(0, 2, (size, size), dtype=np.uint8))
    return [f'{i:03d}' for i in range(n)]


def write_list(path, stems):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(s + '\n' for s in stems))
    return str(path)


def semi_cfg(root, lab_file, unl_file):
    base = dict(type='BaseSegDataset', data_root=str(root), img_suffix='.png',
                seg_map_suffix='.png', metainfo=dict(classes=('a', 'b')),
                data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                pipeline=[])
    return dict(type='SemiSegDataset', labeled=dict(base, ann_file=lab_file),
                unlabeled=dict(base, ann_file=unl_file))


@pytest.fixture
def tree(tmp_path):
    stems = write_tree(tmp_path / 'data')
    lab = write_list(tmp_path / 'splits/labeled.txt', stems[:2])
    unl = write_list(tmp_path / 'splits/unlabeled.txt', stems[2:])
    return tmp_path, stems, lab, unl


def test_semi_dataset_concatenates(tree):
    tmp, stems, lab, unl = tree
    ds = DATASETS.build(semi_cfg(tmp / 'data', lab, unl))
    assert (ds.num_labeled, ds.num_unlabeled, len(ds)) == (2, 6, 8)
    assert ds.get_data_info(0)['img_path'].endswith('000.png')
    assert ds.get_data_info(2)['img_path'].endswith('002.png')


def test_missing_split_file(tree):
    tmp, _, lab, _ = tree
    missing = str(tmp / 'splits/nope.txt')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        DATASETS.build(semi_cfg(tmp / 'data', lab, missing))


def test_missing_data_root(tree):
    tmp, _, lab, unl = tree
    with pytest.raises(FileNotFoundError, match='no_such_root'):
        DATASETS.build(semi_cfg(tmp / 'no_such_root', lab, unl))


def test_empty_split(tree):
    tmp, _, lab, _ = tree
    empty = write_list(tmp / 'splits/empty.txt', [])
    with pytest.raises(ValueError, match='empty.txt'):
        DATASETS.build(semi_cfg(tmp / 'data', lab, empty))


def test_listed_image_missing(tree):
    tmp, stems, lab, _ = tree
    unl = write_list(tmp / 'splits/u2.txt', stems[2:] + ['ghost'])
    with pytest.raises(FileNotFoundError, match='ghost.png'):
        DATASETS.build(semi_cfg(tmp / 'data', lab, unl))


def test_overlap(tree):
    tmp, stems, lab, _ = tree
    unl = write_list(tmp / 'splits/u3.txt', stems[1:])
    with pytest.raises(ValueError, match='both the labeled.*001.png'):
        DATASETS.build(semi_cfg(tmp / 'data', lab, unl))


def test_sampler_batches_and_ranks(tree, monkeypatch):
    tmp, _, lab, unl = tree
    ds = DATASETS.build(semi_cfg(tmp / 'data', lab, unl))
    sampler = SemiSupervisedSampler(ds, labeled_per_batch=2, unlabeled_per_batch=3, seed=7)
    idx = list(itertools.islice(iter(sampler), 5 * 20))
    for b in range(20):
        batch = idx[5 * b:5 * b + 5]
        assert all(i < 2 for i in batch[:2]) and all(i >= 2 for i in batch[2:])
    # each unlabeled image is seen once per pass over the unlabeled set
    unl_stream = [i for b in range(20) for i in idx[5 * b + 2:5 * b + 5]]
    assert sorted(unl_stream[:6]) == list(range(2, 8))
    assert idx == list(itertools.islice(iter(sampler), 100))  # deterministic
    # two ranks draw disjoint parts of the same streams
    streams = []
    for rank in (0, 1):
        monkeypatch.setattr('mmseg_u2pl.datasets.semi_sampler.get_dist_info',
                            lambda r=rank: (r, 2))
        s = SemiSupervisedSampler(ds, labeled_per_batch=1, unlabeled_per_batch=3, seed=7)
        it = list(itertools.islice(iter(s), 4 * 2))
        streams.append([i for k, i in enumerate(it) if k % 4])
    assert not set(streams[0][:3]) & set(streams[1][:3])


def test_split_list_dataset_resolves_against_working_directory(tree, monkeypatch):
    tmp, stems, _, _ = tree
    monkeypatch.chdir(tmp)
    cfg = semi_cfg(tmp / 'data', 'splits/labeled.txt', 'splits/unlabeled.txt')
    ds = DATASETS.build(dict(type='SplitListDataset', dataset=cfg['labeled']))
    assert len(ds) == 2 and ds.metainfo['classes'] == ('a', 'b')
    with pytest.raises(FileNotFoundError, match='splits/missing.txt'):
        DATASETS.build(dict(type='SplitListDataset',
                            dataset=dict(cfg['labeled'], ann_file='splits/missing.txt')))
    semi = DATASETS.build(cfg)
    assert (semi.num_labeled, semi.num_unlabeled) == (2, 6)


def test_split_dir_names_both_lists(tree, monkeypatch):
    tmp, stems, _, _ = tree
    monkeypatch.chdir(tmp)
    cfg = semi_cfg(tmp / 'data', None, None)
    for part in ('labeled', 'unlabeled'):
        del cfg[part]['ann_file']
    semi = DATASETS.build(dict(cfg, split_dir='splits'))
    assert (semi.num_labeled, semi.num_unlabeled) == (2, 6)
    assert semi.datasets[1].ann_file == str(tmp / 'splits/unlabeled.txt')
    # SupOnly: reads labeled.txt, counts unlabeled.txt (its epochs)
    sup = DATASETS.build(dict(type='SplitListDataset', split_dir='splits',
                              dataset=cfg['labeled']))
    assert (len(sup), sup.num_unlabeled) == (2, 6)
    assert DATASETS.build(dict(type='SplitListDataset', dataset=dict(
        cfg['labeled'], ann_file='splits/labeled.txt'))).num_unlabeled is None
    # the same list named twice is fine, two different ones are refused
    DATASETS.build(dict(cfg, split_dir='splits',
                        labeled=dict(cfg['labeled'], ann_file='splits/labeled.txt')))
    with pytest.raises(ValueError, match=r"split_dir or labeled.ann_file.*'other.txt'"):
        DATASETS.build(dict(cfg, split_dir='splits',
                            labeled=dict(cfg['labeled'], ann_file='other.txt')))
    (tmp / 'only').mkdir()
    write_list(tmp / 'only/labeled.txt', stems[:2])
    with pytest.raises(FileNotFoundError, match=r'only/unlabeled.txt \(key split_dir\)'):
        DATASETS.build(dict(type='SplitListDataset', split_dir='only', dataset=cfg['labeled']))
