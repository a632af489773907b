# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import HOOKS

from ...datasets import leaf_datasets

__all__ = ['NumClassCheckHook']


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Refuse to train or evaluate when a decode head's ``num_classes``
    differs from the number of classes of the dataset.

    A model with fewer classes than the dataset fails later on the first label
    it cannot hold; one with more classes trains and evaluates silently wrong
    (MMSeg's ``IoUMetric`` drops the extra predictions). Checked for every
    ``BaseDecodeHead`` in the model (decode, auxiliary; student and teacher)
    against ``len(dataset.metainfo['classes'])`` of the train dataset in
    ``before_train`` and of the val/test dataset before evaluation. A binary
    head (``num_classes=1`` with ``out_channels=1``) counts as 2 classes.
    """
    priority = 'VERY_HIGH'

    @classmethod
    def align_label_checks(cls, dataset, key: str, num_classes: int) -> None:
        """Fill or check ``CheckSegMap.num_classes`` in every pipeline."""
        from ...datasets.transforms import CheckSegMap
        for leaf in leaf_datasets(dataset):
            for t in getattr(getattr(leaf, 'pipeline', None), 'transforms', []):
                if not isinstance(t, CheckSegMap):
                    continue
                if t.num_classes is None:
                    t.num_classes = num_classes
                elif t.num_classes != num_classes:
                    raise ValueError(
                        f'{key} ({type(leaf).__name__}, {getattr(leaf, "ann_file", "")}) has '
                        f'{num_classes} classes but its pipeline checks labels with '
                        f'CheckSegMap(num_classes={t.num_classes}): set it to {num_classes}, '
                        'or to None (then it takes the number of dataset classes)')

    @classmethod
    def check(cls, runner: Runner, dataset, key: str) -> None:
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if not classes:
            return
        cls.align_label_checks(dataset, key, len(classes))
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, module in model.named_modules():
            if not isinstance(module, BaseDecodeHead):
                continue
            num = module.num_classes
            if num == 1 and getattr(module, 'out_channels', 1) == 1:
                num = 2
            if num != len(classes):
                raise ValueError(
                    f'model.{name}.num_classes={module.num_classes} but {key} '
                    f'({type(dataset).__name__}) has {len(classes)} classes {tuple(classes)}; '
                    'set num_classes of every decode/auxiliary head to the number of '
                    'dataset classes')

    def before_train(self, runner: Runner) -> None:
        self.check(runner, runner.train_dataloader.dataset, 'train_dataloader.dataset')

    def before_val(self, runner: Runner) -> None:
        self.check(runner, runner.val_dataloader.dataset, 'val_dataloader.dataset')

    def before_test(self, runner: Runner) -> None:
        self.check(runner, runner.test_dataloader.dataset, 'test_dataloader.dataset')
