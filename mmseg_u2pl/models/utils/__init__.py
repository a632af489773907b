# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .checked_pretrained import CheckedPretrainedInit, PretrainedMismatchError
from .cutmix import CutMix, apply_cutmix, cutmix_masks, multi_box_masks
from .memory_bank import ClassQueueMemoryBank
from .pseudo_labeling import (adaptive_unsup_weight, entropy_percentile,
                              entropy_threshold_pseudo_labels, linear_unreliable_ratio,
                              pixel_entropy)

__all__ = [
    'CheckedPretrainedInit', 'PretrainedMismatchError',
    'CutMix', 'apply_cutmix', 'cutmix_masks', 'multi_box_masks', 'ClassQueueMemoryBank', 'adaptive_unsup_weight',
    'entropy_percentile', 'entropy_threshold_pseudo_labels', 'linear_unreliable_ratio',
    'pixel_entropy'
]
