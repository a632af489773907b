# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import os.path as osp
from typing import List

from mmengine.dataset import ConcatDataset

from mmseg.registry import DATASETS
from mmseg.utils import ConfigType

__all__ = ['SemiSegDataset']


def _split_path(cfg: dict) -> str:
    """Split lists live in ``data/splits/...`` of the working directory (MMSeg's
    ``data/`` convention), independent of ``data_root``: a relative
    ``ann_file`` is resolved against the working directory."""
    return osp.abspath(cfg.get('ann_file') or '')


@DATASETS.register_module()
class SemiSegDataset(ConcatDataset):
    """A labeled and an unlabeled MMSeg dataset, checked and concatenated.

    Index ``i < num_labeled`` is labeled, the rest unlabeled. Both are normal
    MMSeg datasets whose ``ann_file`` is a split list (one image stem per
    line, ``data/splits/{dataset}/{name}/labeled.txt`` / ``unlabeled.txt``,
    relative to the working directory, not to ``data_root``);
    the unlabeled pipeline has no ``LoadAnnotations``, so its samples carry no
    ``gt_sem_seg``. Use with :class:`SemiSupervisedSampler`.

    Checked when built, each with an error that names the file or entry:
    missing or empty split file, a listed image that does not exist, and
    overlap between the labeled and unlabeled lists.

    Args:
        labeled (dict): Config of the labeled dataset.
        unlabeled (dict): Config of the unlabeled dataset.
        check_files (bool): Check that every listed image exists (local
            files only). Defaults to True.
    """

    def __init__(self, labeled: ConfigType, unlabeled: ConfigType, check_files: bool = True):
        built = []
        for role, cfg in (('labeled', labeled), ('unlabeled', unlabeled)):
            if not cfg.get('ann_file'):
                raise ValueError(f'SemiSegDataset.{role}.ann_file must name a split list')
            path = _split_path(cfg)
            cfg = dict(cfg, ann_file=path)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{role} split file not found: {path} (key {role}.ann_file); create it '
                    'with tools/make_semi_splits.py')
            with open(path) as f:
                if not any(line.strip() for line in f):
                    raise ValueError(f'{role} split is empty: {path} (key {role}.ann_file)')
            data_root = cfg.get('data_root')
            if data_root and not osp.isdir(data_root):
                raise FileNotFoundError(f'data root not found: {data_root} (key {role}.data_root)')
            dataset = DATASETS.build(cfg)
            if check_files:
                self._check_images(dataset, role, path)
            built.append(dataset)
        self._check_overlap(*built, _split_path(labeled), _split_path(unlabeled))
        super().__init__(built)

    @property
    def num_labeled(self) -> int:
        return len(self.datasets[0])

    @property
    def num_unlabeled(self) -> int:
        return len(self.datasets[1])

    @staticmethod
    def _image_paths(dataset) -> List[str]:
        return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]

    @classmethod
    def _check_images(cls, dataset, role: str, split_file: str) -> None:
        for path in cls._image_paths(dataset):
            if '://' not in path and not osp.isfile(path):
                raise FileNotFoundError(
                    f'image listed in the {role} split {split_file} does not exist: {path}')

    @classmethod
    def _check_overlap(cls, labeled, unlabeled, lab_file: str, unl_file: str) -> None:
        common = sorted(set(cls._image_paths(labeled)) & set(cls._image_paths(unlabeled)))
        if common:
            raise ValueError(
                f'{len(common)} image(s) are in both the labeled split {lab_file} and the '
                f'unlabeled split {unl_file}, e.g. {common[:3]}')
