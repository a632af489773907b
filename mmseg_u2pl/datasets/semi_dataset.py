# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Datasets read from split lists: ``data/splits/{dataset}/{split}/labeled.txt``
and ``unlabeled.txt`` (one image stem per line, MMSeg's ``ann_file`` format)."""
import os.path as osp
from typing import Iterable, List, Optional

from mmengine.dataset import ConcatDataset

from mmseg.registry import DATASETS
from mmseg.utils import ConfigType

__all__ = ['SplitListDataset', 'SemiSegDataset', 'build_split_dataset', 'leaf_datasets']


def _image_paths(dataset) -> List[str]:
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def _with_split_dir(cfg: ConfigType, split_dir: Optional[str], role: str,
                    key: str) -> ConfigType:
    """``cfg`` with ``ann_file = {split_dir}/{role}.txt`` when ``split_dir``
    is given; a second, different ``ann_file`` is refused (which one would
    win is not obvious)."""
    if split_dir is None:
        return cfg
    ann_file = osp.join(split_dir, f'{role}.txt')
    given = cfg.get('ann_file')
    if given and osp.abspath(given) != osp.abspath(ann_file):
        raise ValueError(
            f'give either split_dir or {key}.ann_file, not both: split_dir={split_dir!r} '
            f'means {ann_file!r} but {key}.ann_file={given!r}')
    return dict(cfg, ann_file=ann_file)


def _count_entries(path: str, key: str) -> int:
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file not found: {osp.abspath(path)} (key {key}); '
                                'create it with tools/make_semi_splits.py')
    with open(path) as f:
        return sum(1 for line in f if line.strip())


def build_split_dataset(cfg: ConfigType, role: str = 'labeled', check_files: bool = True):
    """Build an MMSeg dataset from a split list, with checks.

    Split lists live under ``data/splits`` of the working directory (MMSeg's
    ``data/`` convention), independent of ``data_root``: a relative
    ``ann_file`` is resolved against the working directory, not joined to
    ``data_root`` as MMSeg would.

    Raises an error that names the file or entry for: no ``ann_file``, a
    missing or empty split file, a missing data root, and (``check_files``)
    a listed image that does not exist.
    """
    ann_file = cfg.get('ann_file')
    if not ann_file:
        raise ValueError(f'{role}.ann_file must name a split list (one image stem per line)')
    path = osp.abspath(ann_file)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{role} split file not found: {path} (key {role}.ann_file); '
                                'create it with tools/make_semi_splits.py')
    with open(path) as f:
        if not any(line.strip() for line in f):
            raise ValueError(f'{role} split is empty: {path} (key {role}.ann_file)')
    data_root = cfg.get('data_root')
    if data_root and not osp.isdir(data_root):
        raise FileNotFoundError(f'data root not found: {data_root} (key {role}.data_root)')
    dataset = DATASETS.build(dict(cfg, ann_file=path))
    if check_files:
        for img in _image_paths(dataset):
            if '://' not in img and not osp.isfile(img):
                raise FileNotFoundError(
                    f'image listed in the {role} split {path} does not exist: {img}')
    return dataset


class _SampleNamingConcatDataset(ConcatDataset):
    """``ConcatDataset`` whose loading errors name the sample's files."""
    roles: List[str] = []

    def __getitem__(self, idx: int):
        try:
            return super().__getitem__(idx)
        except Exception as e:
            part, sample = self._get_ori_dataset_idx(idx)
            dataset = self.datasets[part]
            info = dataset.get_data_info(sample)
            raise RuntimeError(
                f'failed to load sample {idx} of the {self.roles[part]} split '
                f"{dataset.ann_file} (image {info.get('img_path')}, label "
                f"{info.get('seg_map_path')}): {type(e).__name__}: {e}") from e


@DATASETS.register_module()
class SplitListDataset(_SampleNamingConcatDataset):
    """One MMSeg dataset read from a split list, checked (see
    :func:`build_split_dataset`). Used by the SupOnly configs so that they read
    the same lists, resolved the same way, as the semi-supervised ones.

    Args:
        dataset (dict): Config of the MMSeg dataset; its ``ann_file`` is the
            split list.
        split_dir (str, optional): A split's folder (``labeled.txt`` and
            ``unlabeled.txt``, as ``tools/make_semi_splits.py`` writes them):
            the dataset reads ``labeled.txt``, and :attr:`num_unlabeled` counts
            ``unlabeled.txt``, so that a SupOnly baseline can train for as many
            epochs of the unlabeled set as its semi-supervised twin
            (:class:`SemiIterBasedTrainLoop` with ``max_epochs``).
        check_files (bool): Check that every listed image exists.
    """

    def __init__(self, dataset: ConfigType, split_dir: Optional[str] = None,
                 check_files: bool = True):
        self.roles = ['dataset']
        dataset = _with_split_dir(dataset, split_dir, 'labeled', 'dataset')
        self._num_unlabeled = None if split_dir is None else _count_entries(
            osp.join(split_dir, 'unlabeled.txt'), 'split_dir')
        super().__init__([build_split_dataset(dataset, 'dataset', check_files)])

    @property
    def num_unlabeled(self) -> Optional[int]:
        """Entries of ``{split_dir}/unlabeled.txt`` (None without ``split_dir``)."""
        return self._num_unlabeled


@DATASETS.register_module()
class SemiSegDataset(_SampleNamingConcatDataset):
    """A labeled and an unlabeled MMSeg dataset, checked and concatenated.

    Index ``i < num_labeled`` is labeled, the rest unlabeled. Both are normal
    MMSeg datasets whose ``ann_file`` is a split list resolved against the
    working directory (:func:`build_split_dataset`); the unlabeled pipeline has
    no ``LoadAnnotations``, so its samples carry no ``gt_sem_seg``. Use with
    :class:`SemiSupervisedSampler`.

    Besides the checks of :func:`build_split_dataset`, an image in both lists
    is an error that names both files, and an error while loading a sample
    names its image and label files.

    Args:
        labeled (dict): Config of the labeled dataset.
        unlabeled (dict): Config of the unlabeled dataset.
        split_dir (str, optional): A split's folder: sets the ``ann_file`` of
            ``labeled`` and ``unlabeled`` to its ``labeled.txt`` and
            ``unlabeled.txt`` (a different ``ann_file`` given as well is an
            error). Defaults to None (each ``ann_file`` as given).
        check_files (bool): Check that every listed image exists (local
            files only). Defaults to True.
    """

    def __init__(self, labeled: ConfigType, unlabeled: ConfigType,
                 split_dir: Optional[str] = None, check_files: bool = True):
        labeled = _with_split_dir(labeled, split_dir, 'labeled', 'labeled')
        unlabeled = _with_split_dir(unlabeled, split_dir, 'unlabeled', 'unlabeled')
        lab = build_split_dataset(labeled, 'labeled', check_files)
        unl = build_split_dataset(unlabeled, 'unlabeled', check_files)
        common = sorted(set(_image_paths(lab)) & set(_image_paths(unl)))
        if common:
            raise ValueError(
                f'{len(common)} image(s) are in both the labeled split {lab.ann_file} and the '
                f'unlabeled split {unl.ann_file}, e.g. {common[:3]}')
        self.roles = ['labeled', 'unlabeled']
        super().__init__([lab, unl])

    @property
    def num_labeled(self) -> int:
        return len(self.datasets[0])

    @property
    def num_unlabeled(self) -> int:
        return len(self.datasets[1])


def leaf_datasets(dataset) -> Iterable:
    """The datasets that hold pipelines inside ``ConcatDataset`` (the
    semi-supervised datasets) and dataset wrappers."""
    for child in getattr(dataset, 'datasets', []) or []:  # ConcatDataset
        yield from leaf_datasets(child)
    inner = getattr(dataset, 'dataset', None)              # dataset wrappers
    if inner is not None and not isinstance(inner, (dict, str)):
        yield from leaf_datasets(inner)
    if not getattr(dataset, 'datasets', None) and inner is None:
        yield dataset
