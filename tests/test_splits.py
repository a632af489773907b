# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import importlib.util
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))  # tools/semi_splits.py: offline tooling
from semi_splits import (import_split, make_split, normalize_entry,  # noqa: E402
                         read_split_file, scan_labeled_pool, scan_stems, write_split)

CITIES = {'aachen': 7, 'bremen': 5, 'zurich': 4}


def _touch(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb'):
        pass


def _write_lines(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _fake_cityscapes(root):
    stems = []
    for city, n in CITIES.items():
        for i in range(n):
            stem = f'{city}/{city}_{i:06d}_000019'
            stems.append(stem)
            _touch(osp.join(root, 'leftImg8bit', 'train',
                            f'{stem}_leftImg8bit.png'))
            _touch(osp.join(root, 'gtFine', 'train',
                            f'{stem}_gtFine_labelTrainIds.png'))
    # files that are not images of the split
    _touch(osp.join(root, 'leftImg8bit', 'train', 'README.txt'))
    _touch(osp.join(root, 'leftImg8bit', 'val', 'lindau',
                    'lindau_000000_000019_leftImg8bit.png'))
    return sorted(stems)


def _fake_voc(root, with_list=False):
    """VOC2012 tree: 30 classic train, 10 val, 60 SBD-only images."""
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    train = [f'2007_{i:06d}' for i in range(30)]
    val = [f'2008_{i:06d}' for i in range(10)]
    sbd = [f'2009_{i:06d}' for i in range(60)]
    seg = osp.join(voc, 'ImageSets', 'Segmentation')
    _write_lines(osp.join(seg, 'train.txt'), train)
    _write_lines(osp.join(seg, 'val.txt'), val)
    for stem in train + val + sbd:
        _touch(osp.join(voc, 'SegmentationClassAug', f'{stem}.png'))
    if with_list:
        _write_lines(osp.join(seg, 'train_aug.txt'), sbd + train)
    return voc, sorted(train), sorted(train + sbd)


def _pool(n=200):
    return [f'{i:06d}' for i in range(n)]


# ---------------------------------------------------------------- make_split


def test_make_split_deterministic_and_order_independent():
    pool = _pool()
    a = make_split(pool, num_labeled=20, seed=3)
    b = make_split(pool, num_labeled=20, seed=3)
    c = make_split(list(reversed(pool)), num_labeled=20, seed=3)
    d = make_split(iter(sorted(pool, key=lambda s: s[::-1])),
                   num_labeled=20, seed=3)
    assert a == b == c == d


def test_make_split_counts_disjoint_and_complete():
    pool = _pool(2975)
    for kwargs, expected in ((dict(num_labeled=186), 186),
                             (dict(fraction=1 / 16), 186),
                             (dict(fraction=1 / 8), 372),
                             (dict(fraction=1 / 4), 744),
                             (dict(fraction=1 / 2), 1488),
                             (dict(fraction=1e-6), 1)):
        labeled, unlabeled = make_split(pool, seed=0, **kwargs)
        assert len(labeled) == expected
        assert len(unlabeled) == len(pool) - expected
        assert not set(labeled) & set(unlabeled)
        assert set(labeled) | set(unlabeled) == set(pool)
        assert labeled == sorted(labeled)
        assert unlabeled == sorted(unlabeled)


def test_make_split_seeds_differ_and_nest():
    pool = _pool()
    l0, _ = make_split(pool, num_labeled=20, seed=0)
    l1, _ = make_split(pool, num_labeled=20, seed=1)
    assert l0 != l1
    small, _ = make_split(pool, num_labeled=10, seed=0)
    assert set(small) <= set(l0)


def test_make_split_labeled_pool():
    pool = _pool(100)
    classic = pool[:30]
    labeled, unlabeled = make_split(
        pool, num_labeled=12, seed=0, labeled_pool=reversed(classic))
    assert len(labeled) == 12 and set(labeled) <= set(classic)
    assert set(unlabeled) == set(pool) - set(labeled)
    # all classic images labeled (e.g. the VOC "1464" split)
    labeled, unlabeled = make_split(
        pool, num_labeled=30, labeled_pool=classic)
    assert labeled == classic and unlabeled == pool[30:]
    labeled, _ = make_split(pool, fraction=0.5, labeled_pool=classic)
    assert len(labeled) == 15 and set(labeled) <= set(classic)
    with pytest.raises(ValueError, match='num_labeled=31'):
        make_split(pool, num_labeled=31, labeled_pool=classic)
    with pytest.raises(ValueError, match='xyz'):
        make_split(pool, num_labeled=3, labeled_pool=classic + ['xyz'])


@pytest.mark.parametrize(
    'kwargs, message',
    [(dict(num_labeled=0), 'num_labeled=0'),
     (dict(num_labeled=-5), 'num_labeled=-5'),
     (dict(num_labeled=10), 'num_labeled=10'),
     (dict(num_labeled=11), 'num_labeled=11'),
     (dict(num_labeled=2.5), '2.5'),
     (dict(fraction=0.0), 'got 0.0'),
     (dict(fraction=1.0), '1.0'),
     (dict(fraction=1.5), '1.5'),
     (dict(fraction=-0.1), '-0.1'),
     (dict(fraction=0.99), 'fraction=0.99'),
     (dict(), 'exactly one'),
     (dict(num_labeled=2, fraction=0.5), 'exactly one')])
def test_make_split_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_split(_pool(10), **kwargs)


def test_make_split_duplicates():
    with pytest.raises(ValueError, match='000003'):
        make_split(_pool(10) + ['000003'], num_labeled=2)


# ---------------------------------------------------------------- scanning


def test_scan_cityscapes(tmp_path):
    stems = _fake_cityscapes(str(tmp_path))
    assert scan_stems('cityscapes', str(tmp_path)) == stems
    assert scan_stems('cityscapes', str(tmp_path), 'val') == [
        'lindau/lindau_000000_000019'
    ]
    assert scan_labeled_pool('cityscapes', str(tmp_path)) is None


def test_scan_missing_paths(tmp_path):
    missing = osp.join(str(tmp_path), 'leftImg8bit', 'train')
    with pytest.raises(FileNotFoundError, match=re.escape(missing)):
        scan_stems('cityscapes', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='ImageSets'):
        scan_stems('voc-blender', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='img_dir'):
        scan_stems('mmseg', str(tmp_path))
    with pytest.raises(ValueError, match='ade'):
        scan_stems('ade', str(tmp_path))


def test_scan_voc_fallback_and_list(tmp_path):
    root, classic, pool = _fake_voc(str(tmp_path / 'a'))
    # data root may be VOC2012 itself or a parent of VOCdevkit
    for data_root in (root, str(tmp_path / 'a')):
        assert scan_stems('voc-classic', data_root) == pool
        assert scan_stems('voc-blender', data_root) == pool
        assert scan_labeled_pool('voc-classic', data_root) == classic
        assert scan_labeled_pool('voc-blender', data_root) is None
    assert len(scan_stems('voc-classic', root, 'val')) == 10
    root, classic, pool = _fake_voc(str(tmp_path / 'b'), with_list=True)
    os.remove(osp.join(root, 'SegmentationClassAug', f'{pool[0]}.png'))
    assert scan_stems('voc-blender', root) == pool  # read from the list


def test_voc_classic_split(tmp_path):
    root, classic, pool = _fake_voc(str(tmp_path))
    labeled, unlabeled = make_split(
        scan_stems('voc-classic', root),
        num_labeled=8,
        seed=0,
        labeled_pool=scan_labeled_pool('voc-classic', root))
    assert len(labeled) == 8 and set(labeled) <= set(classic)
    assert len(unlabeled) == len(pool) - 8
    assert set(labeled) | set(unlabeled) == set(pool)


def test_scan_mmseg(tmp_path):
    for i in range(5):
        _touch(osp.join(str(tmp_path), 'img_dir', 'train', f'{i:06d}.png'))
    _touch(osp.join(str(tmp_path), 'img_dir', 'train', 'sub', 'x.png'))
    _touch(osp.join(str(tmp_path), 'img_dir', 'train', 'notes.txt'))
    stems = scan_stems('mmseg', str(tmp_path))
    assert stems == [f'{i:06d}' for i in range(5)] + ['sub/x']
    _touch(osp.join(str(tmp_path), 'images', 'train', 'a.jpg'))
    assert scan_stems(
        'mmseg', str(tmp_path), img_suffix='.jpg', img_dir='images') == ['a']
    # the wrong suffix: the message says what it looked for and what is there
    with pytest.raises(ValueError, match=r"ending in '.png' under .*images.*found "
                                         r"suffixes \['.jpg'\]\. Pass --img-suffix"):
        scan_stems('mmseg', str(tmp_path), img_dir='images')


# ---------------------------------------------------------------- import


def test_normalize_entry():
    pool = {'aachen/aachen_000000_000019', '2007_000032'}
    assert normalize_entry(
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png',
        pool) == 'aachen/aachen_000000_000019'
    assert normalize_entry(
        'JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png',
        pool) == '2007_000032'
    assert normalize_entry('  2007_000032\n', pool) == '2007_000032'
    assert normalize_entry('./img_dir/train/000123.png') == (
        'img_dir/train/000123')
    assert normalize_entry('   ') is None
    assert normalize_entry('# comment') is None


def test_import_split(tmp_path):
    _fake_cityscapes(str(tmp_path / 'cs'))
    stems = scan_stems('cityscapes', str(tmp_path / 'cs'))
    published = tmp_path / 'labeled.txt'
    published.write_text(
        'leftImg8bit/train/aachen/aachen_000003_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000003_000019_gtFine_labelTrainIds.png\n'
        'bremen/bremen_000001_000019\n'
        '\n'
        'zurich/zurich_000000_000019_leftImg8bit.png\n')
    labeled, unlabeled = import_split(reversed(stems), str(published))
    assert labeled == [
        'aachen/aachen_000003_000019', 'bremen/bremen_000001_000019',
        'zurich/zurich_000000_000019'
    ]
    assert set(labeled) | set(unlabeled) == set(stems)
    assert len(unlabeled) == len(stems) - 3


def test_import_split_voc_style(tmp_path):
    pool = ['2007_000032', '2007_000039', '2007_000063', '2008_000001']
    published = tmp_path / 'labeled.txt'
    published.write_text(
        'JPEGImages/2007_000039.jpg SegmentationClass/2007_000039.png\n'
        '/abs/VOC2012/JPEGImages/2008_000001.jpg\n')
    labeled, unlabeled = import_split(pool, str(published))
    assert labeled == ['2007_000039', '2008_000001']
    assert unlabeled == ['2007_000032', '2007_000063']


def test_import_split_errors(tmp_path):
    pool = _pool(10)
    published = tmp_path / 'published.txt'
    published.write_text('000001\n000002\nimg_dir/train/999999.png\n')
    with pytest.raises(ValueError) as err:
        import_split(pool, str(published))
    msg = str(err.value)
    assert str(published) in msg and ':3' in msg and '999999' in msg
    published.write_text('000001\n000001\n')
    with pytest.raises(ValueError, match='000001.*twice'):
        import_split(pool, str(published))
    published.write_text(''.join(f'{s}\n' for s in pool))
    with pytest.raises(ValueError, match='no unlabeled'):
        import_split(pool, str(published))
    missing = str(tmp_path / 'nope.txt')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        import_split(pool, missing)


# ---------------------------------------------------------------- files


def test_write_and_read_split(tmp_path):
    out = str(tmp_path / 'splits' / '1-4')
    labeled_path, unlabeled_path = write_split(out, ['b', 'a'],
                                               ['d', 'c', 'e'])
    assert labeled_path == osp.join(out, 'labeled.txt')
    assert unlabeled_path == osp.join(out, 'unlabeled.txt')
    with open(labeled_path) as f:
        assert f.read() == 'a\nb\n'
    assert read_split_file(unlabeled_path) == ['c', 'd', 'e']
    with pytest.raises(ValueError, match="both.*'a'"):
        write_split(out, ['a'], ['a', 'b'])
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        read_split_file(str(tmp_path / 'missing.txt'))


# ---------------------------------------------------------------- CLI


def _cli(*args):
    return subprocess.run(
        [sys.executable,
         osp.join(REPO_ROOT, 'tools', 'make_semi_splits.py')] + list(args),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT)


@pytest.fixture(scope='module')
def cli_main():
    """``main`` of tools/make_semi_splits.py, for in-process runs."""
    spec = importlib.util.spec_from_file_location(
        'make_semi_splits', osp.join(REPO_ROOT, 'tools',
                                     'make_semi_splits.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_end_to_end(tmp_path):
    data_root = str(tmp_path / 'cityscapes')
    stems = _fake_cityscapes(data_root)
    out = str(tmp_path / 'splits' / '1-4')
    res = _cli('cityscapes', '--data-root', data_root, '--num-labeled', '4',
               '--seed', '0', '--out', out)
    assert res.returncode == 0, res.stderr
    assert 'labeled 4' in res.stdout and 'unlabeled 12' in res.stdout
    labeled = read_split_file(osp.join(out, 'labeled.txt'))
    unlabeled = read_split_file(osp.join(out, 'unlabeled.txt'))
    assert (labeled, unlabeled) == make_split(stems, num_labeled=4, seed=0)

    # errors: exit code 1 and a message naming the problem
    res = _cli('cityscapes', '--data-root', str(tmp_path / 'none'),
               '--num-labeled', '4', '--out', str(tmp_path / 'x'))
    assert res.returncode == 1
    assert osp.join(str(tmp_path / 'none'), 'leftImg8bit') in res.stderr
    assert not osp.exists(str(tmp_path / 'x'))


def test_cli_options(tmp_path, cli_main, capsys):
    data_root = str(tmp_path / 'cityscapes')
    stems = _fake_cityscapes(data_root)
    out = str(tmp_path / 'seed3')
    assert cli_main(['cityscapes', '--data-root', data_root, '--num-labeled',
                     '4', '--seed', '3', '--out', out]) == 0
    labeled = read_split_file(osp.join(out, 'labeled.txt'))
    assert labeled == make_split(stems, num_labeled=4, seed=3)[0]

    # by fraction, and importing the list just written
    assert cli_main(['cityscapes', '--data-root', data_root, '--fraction',
                     '0.25', '--out', str(tmp_path / 'frac')]) == 0
    assert len(read_split_file(str(tmp_path / 'frac' / 'labeled.txt'))) == 4
    assert cli_main(['cityscapes', '--data-root', data_root,
                     '--labeled-list', osp.join(out, 'labeled.txt'), '--out',
                     str(tmp_path / 'imp')]) == 0
    assert read_split_file(str(tmp_path / 'imp' / 'labeled.txt')) == labeled
    assert 'imported from' in capsys.readouterr().out

    # voc classic: labeled from train.txt only
    voc, classic, pool = _fake_voc(str(tmp_path / 'voc'))
    assert cli_main(['voc-classic', '--data-root', voc, '--num-labeled', '5',
                     '--out', str(tmp_path / 'voc_split')]) == 0
    voc_labeled = read_split_file(str(tmp_path / 'voc_split' /
                                      'labeled.txt'))
    assert len(voc_labeled) == 5 and set(voc_labeled) <= set(classic)
    assert capsys.readouterr().out.startswith(
        f'voc-classic: pool {len(pool)}, labeled 5, '
        f'unlabeled {len(pool) - 5}')

    # mmseg layout with another suffix
    for i in range(6):
        _touch(osp.join(str(tmp_path / 'mm'), 'img_dir', 'val', f'{i}.jpg'))
    assert cli_main(['mmseg', '--data-root', str(tmp_path / 'mm'),
                     '--subset', 'val', '--img-suffix', '.jpg',
                     '--num-labeled', '2', '--out',
                     str(tmp_path / 'mm_split')]) == 0
    assert len(read_split_file(str(tmp_path / 'mm_split' /
                                   'unlabeled.txt'))) == 4

    # errors are reported, nothing is written
    assert cli_main(['cityscapes', '--data-root', data_root, '--num-labeled',
                     '16', '--out', str(tmp_path / 'x')]) == 1
    assert 'num_labeled=16' in capsys.readouterr().err
    assert not osp.exists(str(tmp_path / 'x'))
    with pytest.raises(SystemExit):  # exactly one way to choose is required
        cli_main(['cityscapes', '--data-root', data_root, '--out', out])
