# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from typing import Dict, List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import HOOKS
from ...datasets import leaf_datasets

__all__ = ['CropSizeHook', 'pipeline_crop_sizes', 'set_crop_size', 'train_crop_size']


def _as_hw(crop_size) -> Tuple[int, int]:
    if isinstance(crop_size, int):
        return (crop_size, crop_size)
    return tuple(int(v) for v in crop_size)


def pipeline_crop_sizes(pipeline) -> List[Tuple[int, int]]:
    """``(h, w)`` of every ``RandomCrop`` of a pipeline, given as a list of
    transform configs (dicts) or as built transforms (MMCV ``Compose`` or a
    list)."""
    from mmseg.datasets.transforms import RandomCrop
    transforms = getattr(pipeline, 'transforms', pipeline) or []
    sizes = []
    for t in transforms:
        if isinstance(t, dict):
            if str(t.get('type', '')).split('.')[-1] == 'RandomCrop':
                sizes.append(_as_hw(t['crop_size']))
        elif isinstance(t, RandomCrop):
            sizes.append(_as_hw(t.crop_size))
    return sizes


def _config_pipelines(dataset_cfg, key: str):
    """``(key, pipeline)`` of every dataset config under a dataset config."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'pipeline' in dataset_cfg:
        yield f'{key}.pipeline', dataset_cfg['pipeline']
    for name, value in dataset_cfg.items():
        if isinstance(value, dict):
            yield from _config_pipelines(value, f'{key}.{name}')
        elif isinstance(value, (list, tuple)) and name == 'datasets':
            for i, child in enumerate(value):
                yield from _config_pipelines(child, f'{key}.{name}.{i}')


def train_crop_size(cfg) -> Optional[Tuple[int, int]]:
    """The training crop ``(h, w)`` of a config: the ``crop_size`` of the
    ``RandomCrop`` in its training pipelines (labeled and unlabeled), the one
    place a config states it. None without a ``RandomCrop``; ``ValueError``
    naming the keys when the pipelines crop to different sizes."""
    found: Dict[Tuple[int, int], List[str]] = {}
    for key, pipeline in _config_pipelines(cfg.get('train_dataloader', {}).get('dataset'),
                                           'train_dataloader.dataset'):
        for i, size in enumerate(pipeline_crop_sizes(pipeline)):
            found.setdefault(size, []).append(f'{key} (RandomCrop {i})')
    return _one_size(found)


def _one_size(found: Dict[Tuple[int, int], List[str]]) -> Optional[Tuple[int, int]]:
    if len(found) > 1:
        shown = '; '.join(f'crop_size={size} in {", ".join(keys)}'
                          for size, keys in found.items())
        raise ValueError(
            f'the training pipelines crop to different sizes ({shown}): labeled and '
            'unlabeled crops are stacked into one batch, so every RandomCrop of '
            'train_dataloader must use the same crop_size')
    return next(iter(found), None)


def set_crop_size(model, crop: Tuple[int, int]) -> None:
    """Give every ``SegDataPreProcessor`` of ``model`` without a ``size`` the
    training crop ``(h, w)``; refuse one whose ``size`` differs (naming the
    module and both values). What :class:`CropSizeHook` does before
    training; call it when a model built from a config runs a training-mode
    batch outside MMEngine's Runner (e.g. ``tools/benchmark/step_profile.py``):
    MMSeg's preprocessor needs a size or a size divisor there."""
    for name, module in model.named_modules():
        if not isinstance(module, SegDataPreProcessor):
            continue
        if module.size is None:
            module.size = crop
        elif _as_hw(module.size) != crop:
            raise ValueError(
                f'model.{name}.size={tuple(module.size)} but the training pipeline crops to '
                f'{crop} (train_dataloader RandomCrop crop_size): the batch would be '
                'padded to another size than the crop. Remove `size` from the '
                'data_preprocessor (it takes the crop size) or set it to the crop size')


@HOOKS.register_module()
class CropSizeHook(Hook):
    """Give the data preprocessor the crop size of the training pipeline.

    A config states its training crop once, in the ``RandomCrop`` of the
    training pipelines. MMSeg's ``SegDataPreProcessor`` pads a training batch
    to its own ``size``; a second copy of the crop there is easy to forget
    when the crop changes (the batch is then padded to the old size, with
    ignored labels, and trains on something else than the config says).
    Before training this hook sets ``size`` of every ``SegDataPreProcessor``
    of the model (the wrapper's, the student's and the teacher's) that has
    none to the pipeline's crop, and refuses one that differs, naming both
    values. Labeled and unlabeled pipelines that crop to different sizes are
    refused too. Evaluation does not use ``size`` (it pads to
    ``test_cfg.size_divisor``).
    """
    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        found: Dict[Tuple[int, int], List[str]] = {}
        for leaf in leaf_datasets(runner.train_dataloader.dataset):
            for i, size in enumerate(pipeline_crop_sizes(getattr(leaf, 'pipeline', None))):
                found.setdefault(size, []).append(
                    f'{type(leaf).__name__}({getattr(leaf, "ann_file", "")}) RandomCrop {i}')
        crop = _one_size(found)
        if crop is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        set_crop_size(model, crop)
