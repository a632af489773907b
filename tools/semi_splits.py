# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Labeled / unlabeled split lists for semi-supervised training.

A split is two plain-text files in MMSeg's ``ann_file`` format (one image
stem per line, relative to the dataset's ``data_prefix['img_path']`` and
without the image suffix)::

    out_dir/labeled.txt
    out_dir/unlabeled.txt

Stems look like ``aachen/aachen_000000_000019`` for Cityscapes,
``2007_000032`` for Pascal VOC and ``000123`` for a plain MMSeg-format
dataset (``img_dir/train/000123.png``).

Supported dataset kinds (see :func:`scan_stems`):

- ``cityscapes``: ``leftImg8bit/<subset>/<city>/<name>_leftImg8bit.png``.
- ``voc-classic``: the pool is the augmented train list (10582 images:
  the 1464 images of ``ImageSets/Segmentation/train.txt`` plus the SBD
  images); labeled images are drawn from the 1464 only
  (:func:`scan_labeled_pool`), every other pool image is unlabeled.
- ``voc-blender``: the pool is the augmented train list, labeled images are
  drawn from all of it.
- ``mmseg``: ``img_dir/<subset>/**/*<img_suffix>``.

Splits are drawn with a seeded :class:`numpy.random.Generator` from the
sorted pool, so they depend only on the pool's contents and the seed, never
on the order in which the stems were listed. For one seed and pool, a split
with fewer labeled images is a subset of one with more (the labeled set is a
prefix of one fixed permutation).
"""
import math
import os
import os.path as osp
from collections import Counter
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'DATASET_KINDS', 'scan_stems', 'scan_labeled_pool', 'make_split',
    'import_split', 'normalize_entry', 'write_split', 'read_split_file'
]

DATASET_KINDS = ('cityscapes', 'voc-classic', 'voc-blender', 'mmseg')

CITYSCAPES_IMG_SUFFIX = '_leftImg8bit.png'
# Suffixes that published split lists append to a stem (image and label
# files of Cityscapes and VOC, and the usual image extensions).
_KNOWN_SUFFIXES = ('_leftImg8bit', '_gtFine_labelTrainIds', '_gtFine_labelIds',
                   '_gtFine_color', '_gtFine_instanceIds')
_KNOWN_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.npy',
               '.mat')
# train.txt + SBD train/val - VOC val, as written by mmseg's voc_aug.py
# (``trainaug.txt``) or by other code bases (``train_aug.txt``).
_VOC_AUG_LISTS = ('train_aug.txt', 'trainaug.txt')


def _require(path: str, what: str) -> str:
    """Raise a FileNotFoundError naming ``path`` if it does not exist."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    return path


def _read_list(path: str, what: str) -> List[str]:
    """Read a list file (one entry per line, blank lines skipped)."""
    _require(path, what)
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def _voc_root(data_root: str) -> str:
    """Locate ``VOC2012`` from a data root.

    Accepts the ``VOC2012`` folder itself (as in MMSeg's VOC configs), or a
    parent holding ``VOCdevkit/VOC2012`` or ``VOC2012``.
    """
    for cand in (data_root, osp.join(data_root, 'VOCdevkit', 'VOC2012'),
                 osp.join(data_root, 'VOC2012')):
        if osp.isdir(osp.join(cand, 'ImageSets', 'Segmentation')):
            return cand
    raise FileNotFoundError(
        'Pascal VOC split folder not found: '
        f'{osp.join(data_root, "ImageSets", "Segmentation")} (also looked '
        'under VOCdevkit/VOC2012 and VOC2012 of the data root)')


def _voc_aug_pool(voc_root: str) -> List[str]:
    """The augmented VOC train list (10582 stems for the standard setup).

    Read from ``ImageSets/Segmentation/train_aug.txt`` (or mmseg's
    ``trainaug.txt``) when present, otherwise built as the stems of
    ``SegmentationClassAug/*.png`` minus ``ImageSets/Segmentation/val.txt``.
    """
    seg_dir = osp.join(voc_root, 'ImageSets', 'Segmentation')
    for name in _VOC_AUG_LISTS:
        path = osp.join(seg_dir, name)
        if osp.isfile(path):
            return _read_list(path, 'VOC augmented train list')
    aug_dir = osp.join(voc_root, 'SegmentationClassAug')
    if not osp.isdir(aug_dir):
        raise FileNotFoundError(
            'VOC augmented train list not found: '
            f'{osp.join(seg_dir, _VOC_AUG_LISTS[0])} (nor '
            f'{_VOC_AUG_LISTS[1]}), and no SegmentationClassAug folder to '
            f'build it from: {aug_dir}')
    val = set(
        _read_list(osp.join(seg_dir, 'val.txt'), 'VOC val list'))
    stems = [
        name[:-len('.png')] for name in os.listdir(aug_dir)
        if name.endswith('.png')
    ]
    return [s for s in stems if s not in val]


def scan_stems(dataset: str,
               data_root: str,
               subset: str = 'train',
               img_suffix: str = '.png',
               img_dir: str = 'img_dir') -> List[str]:
    """List the image stems of a dataset subset (the split pool).

    Args:
        dataset (str): One of :data:`DATASET_KINDS`.
        data_root (str): Dataset root, e.g. ``data/cityscapes``,
            ``data/VOCdevkit/VOC2012`` or the root of an MMSeg-format
            dataset.
        subset (str): Subset to scan. For VOC, ``'train'`` is the augmented
            train list and any other value reads
            ``ImageSets/Segmentation/<subset>.txt``. Defaults to 'train'.
        img_suffix (str): Image suffix of the ``mmseg`` kind.
            Defaults to '.png'.
        img_dir (str): Image folder of the ``mmseg`` kind.
            Defaults to 'img_dir'.

    Returns:
        list[str]: Sorted, unique stems.

    Raises:
        FileNotFoundError: If a folder or list file is missing (the message
            names the path).
        ValueError: If the dataset kind is unknown or nothing is found.
    """
    if dataset not in DATASET_KINDS:
        raise ValueError(f'unknown dataset kind {dataset!r}, expected one of '
                         f'{DATASET_KINDS}')
    if dataset == 'cityscapes':
        root = _require(
            osp.join(data_root, 'leftImg8bit', subset),
            'Cityscapes image folder')
        stems = []
        for city in sorted(os.listdir(root)):
            city_dir = osp.join(root, city)
            if not osp.isdir(city_dir):
                continue
            stems += [
                f'{city}/{name[:-len(CITYSCAPES_IMG_SUFFIX)]}'
                for name in os.listdir(city_dir)
                if name.endswith(CITYSCAPES_IMG_SUFFIX)
            ]
    elif dataset in ('voc-classic', 'voc-blender'):
        voc_root = _voc_root(data_root)
        if subset == 'train':
            stems = _voc_aug_pool(voc_root)
        else:
            stems = _read_list(
                osp.join(voc_root, 'ImageSets', 'Segmentation',
                         f'{subset}.txt'), f'VOC {subset} list')
    else:
        root = _require(
            osp.join(data_root, img_dir, subset), 'image folder')
        stems = []
        for dirpath, _, names in os.walk(root):
            rel = osp.relpath(dirpath, root)
            for name in names:
                if name.endswith(img_suffix) and len(name) > len(img_suffix):
                    stem = name[:-len(img_suffix)]
                    stems.append(stem if rel == '.' else
                                 f'{rel}/{stem}'.replace(os.sep, '/'))
    if not stems:
        if dataset == 'mmseg':
            where = osp.join(data_root, img_dir, subset)
            found = sorted({osp.splitext(n)[1] for _, _, names in os.walk(where)
                            for n in names if osp.splitext(n)[1]})
            raise ValueError(
                f'no images found for dataset {dataset!r}: looked for files ending in '
                f'{img_suffix!r} under {where!r}; found suffixes {found[:6]}. Pass '
                f'--img-suffix (e.g. --img-suffix {found[0]!r})' if found else
                f'no images found for dataset {dataset!r}: {where!r} holds no files')
        raise ValueError(f'no images found for dataset {dataset!r} under '
                         f'{data_root!r} (subset {subset!r})')
    return sorted(set(stems))


def scan_labeled_pool(dataset: str,
                      data_root: str,
                      subset: str = 'train') -> Optional[List[str]]:
    """The images labeled ones may be drawn from, if restricted.

    Only ``voc-classic`` restricts it: labeled images come from the 1464 of
    ``ImageSets/Segmentation/train.txt``. Other kinds return None (draw from
    the whole pool).

    Args:
        dataset (str): One of :data:`DATASET_KINDS`.
        data_root (str): Dataset root.
        subset (str): Subset. Defaults to 'train'.

    Returns:
        list[str] | None: Sorted stems, or None.
    """
    if dataset != 'voc-classic' or subset != 'train':
        return None
    voc_root = _voc_root(data_root)
    return sorted(
        set(
            _read_list(
                osp.join(voc_root, 'ImageSets', 'Segmentation', 'train.txt'),
                'VOC classic train list')))


def _check_unique(stems: Sequence[str], what: str) -> None:
    dup = sorted(s for s, n in Counter(stems).items() if n > 1)
    if dup:
        raise ValueError(f'duplicate stems in {what}: {dup[:5]}'
                         f'{" ..." if len(dup) > 5 else ""}')


def make_split(stems: Iterable[str],
               num_labeled: Optional[int] = None,
               fraction: Optional[float] = None,
               seed: int = 0,
               labeled_pool: Optional[Iterable[str]] = None
               ) -> Tuple[List[str], List[str]]:
    """Draw a seeded labeled / unlabeled split.

    Args:
        stems (Iterable[str]): The pool (every training image).
        num_labeled (int, optional): Number of labeled images.
        fraction (float, optional): Labeled fraction in (0, 1) of the pool
            labeled images are drawn from; the count is
            ``round(fraction * len(pool))`` (halves rounded up), at least 1.
            Exactly one of ``num_labeled`` and ``fraction`` must be given.
        seed (int): Seed of the draw. Defaults to 0.
        labeled_pool (Iterable[str], optional): Restrict labeled images to
            these stems (a subset of ``stems``), e.g. the 1464 images of VOC
            ``train.txt``; all other images of ``stems`` are unlabeled.
            Defaults to None (draw from ``stems``).

    Returns:
        tuple[list[str], list[str]]: Sorted labeled and unlabeled stems;
        disjoint, their union is ``stems``.

    Raises:
        ValueError: On duplicate stems, a labeled pool that is not a subset
            of ``stems``, both or neither of ``num_labeled`` / ``fraction``,
            ``fraction`` outside (0, 1), or a labeled count that is not
            positive or leaves no unlabeled image.
    """
    stems = list(stems)
    _check_unique(stems, 'the pool')
    pool = sorted(stems)
    if labeled_pool is None:
        draw_from = pool
    else:
        labeled_pool = list(labeled_pool)
        _check_unique(labeled_pool, 'the labeled pool')
        missing = sorted(set(labeled_pool) - set(pool))
        if missing:
            raise ValueError('labeled pool entries missing from the pool: '
                             f'{missing[:5]}'
                             f'{" ..." if len(missing) > 5 else ""}')
        draw_from = sorted(labeled_pool)
    if (num_labeled is None) == (fraction is None):
        raise ValueError('give exactly one of num_labeled and fraction, got '
                         f'num_labeled={num_labeled}, fraction={fraction}')
    if fraction is not None:
        if not 0.0 < fraction < 1.0:
            raise ValueError(f'fraction must be in (0, 1), got {fraction}')
        count = max(1, int(math.floor(fraction * len(draw_from) + 0.5)))
        what = f'fraction={fraction} (-> {count} labeled)'
    else:
        if isinstance(num_labeled, bool) or not isinstance(
                num_labeled, (int, np.integer)):
            raise ValueError(
                f'num_labeled must be an integer, got {num_labeled!r}')
        count = int(num_labeled)
        what = f'num_labeled={num_labeled}'
    if count <= 0:
        raise ValueError(f'{what} must be positive')
    if count > len(draw_from):
        raise ValueError(f'{what} exceeds the labeled pool size '
                         f'{len(draw_from)}')
    if count >= len(pool):
        raise ValueError(f'{what} must be smaller than the pool size '
                         f'{len(pool)} (no unlabeled image left)')
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(draw_from))[:count]
    labeled = sorted(draw_from[i] for i in order)
    chosen = set(labeled)
    unlabeled = [s for s in pool if s not in chosen]
    return labeled, unlabeled


def _strip_known_suffixes(entry: str) -> str:
    """Drop a file extension and a known stem suffix from an entry."""
    low = entry.lower()
    for ext in _KNOWN_EXTS:
        if low.endswith(ext):
            entry = entry[:-len(ext)]
            break
    for suffix in _KNOWN_SUFFIXES:
        if entry.endswith(suffix):
            entry = entry[:-len(suffix)]
            break
    return entry


def normalize_entry(line: str, pool: Optional[Iterable[str]] = None
                    ) -> Optional[str]:
    """Turn one line of a published split list into a stem.

    Only the first whitespace-separated field is used, so lines such as
    ``JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png`` work.
    The extension and Cityscapes suffixes (``_leftImg8bit``,
    ``_gtFine_labelTrainIds``, ...) are removed. Given ``pool``, leading path
    components are dropped until the entry is a pool stem, so
    ``leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png`` becomes
    ``aachen/aachen_000000_000019``.

    Args:
        line (str): The line.
        pool (Iterable[str], optional): Known stems (a set is fastest).

    Returns:
        str | None: The stem (the longest pool match when ``pool`` is given,
        the normalised entry if nothing in the pool matches), or None for a
        blank or ``#`` comment line.
    """
    line = line.strip()
    if not line or line.startswith('#'):
        return None
    entry = _strip_known_suffixes(line.split()[0].replace('\\', '/'))
    while entry.startswith('./'):
        entry = entry[2:]
    entry = entry.strip('/')
    if pool is None:
        return entry
    pool = pool if isinstance(pool, (set, frozenset)) else set(pool)
    parts = entry.split('/')
    for i in range(len(parts)):
        cand = '/'.join(parts[i:])
        if cand in pool:
            return cand
    return entry


def import_split(stems: Iterable[str],
                 labeled_file: str) -> Tuple[List[str], List[str]]:
    """Use a published labeled list; the rest of the pool is unlabeled.

    Args:
        stems (Iterable[str]): The pool.
        labeled_file (str): Labeled list, one entry per line (see
            :func:`normalize_entry` for accepted forms).

    Returns:
        tuple[list[str], list[str]]: Sorted labeled and unlabeled stems.

    Raises:
        FileNotFoundError: If ``labeled_file`` does not exist.
        ValueError: On duplicate pool stems, an entry that is not in the
            pool or listed twice (naming the file and line), an empty list,
            or a list covering the whole pool.
    """
    stems = list(stems)
    _check_unique(stems, 'the pool')
    pool = set(stems)
    _require(labeled_file, 'labeled list')
    labeled = {}
    with open(labeled_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            stem = normalize_entry(line, pool)
            if stem is None:
                continue
            if stem not in pool:
                raise ValueError(
                    f'{labeled_file}:{lineno}: entry {line.strip()!r} '
                    f'(stem {stem!r}) is not in the pool of {len(pool)} '
                    'images')
            if stem in labeled:
                raise ValueError(
                    f'{labeled_file}:{lineno}: stem {stem!r} is listed '
                    f'twice (first on line {labeled[stem]})')
            labeled[stem] = lineno
    if not labeled:
        raise ValueError(f'{labeled_file}: no labeled entries')
    if len(labeled) >= len(pool):
        raise ValueError(f'{labeled_file}: all {len(pool)} pool images are '
                         'labeled, no unlabeled image left')
    return sorted(labeled), sorted(pool - set(labeled))


def write_split(out_dir: str, labeled: Iterable[str],
                unlabeled: Iterable[str]) -> Tuple[str, str]:
    """Write ``out_dir/labeled.txt`` and ``out_dir/unlabeled.txt``.

    Args:
        out_dir (str): Output folder (created if needed).
        labeled (Iterable[str]): Labeled stems.
        unlabeled (Iterable[str]): Unlabeled stems.

    Returns:
        tuple[str, str]: Paths of the labeled and unlabeled files.

    Raises:
        ValueError: If a stem is in both lists or a list is empty.
    """
    labeled, unlabeled = sorted(set(labeled)), sorted(set(unlabeled))
    both = sorted(set(labeled) & set(unlabeled))
    if both:
        raise ValueError(f'stems both labeled and unlabeled: {both[:5]}')
    if not labeled or not unlabeled:
        raise ValueError(f'empty split: {len(labeled)} labeled, '
                         f'{len(unlabeled)} unlabeled')
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, items in (('labeled.txt', labeled), ('unlabeled.txt',
                                                   unlabeled)):
        path = osp.join(out_dir, name)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(''.join(f'{s}\n' for s in items))
        paths.append(path)
    return paths[0], paths[1]


def read_split_file(path: str) -> List[str]:
    """Read a split file written by :func:`write_split`.

    Args:
        path (str): The file.

    Returns:
        list[str]: Stems in file order (blank lines skipped).
    """
    return _read_list(path, 'split file')
