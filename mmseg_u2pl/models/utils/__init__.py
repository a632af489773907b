# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .adaptive_mixing import (AdaptiveCopyPaste, AdaptiveCutMix, component_boxes,
                              paste_objects)
from .checked_pretrained import CheckedPretrainedInit, PretrainedMismatchError
from .cutmix import CutMix, apply_cutmix, cutmix_masks, multi_box_masks
from .confidence_bank import (ClassConfidenceBank, class_sampling_probs,
                              equalization_keep_probs)
from .memory_bank import ClassQueueMemoryBank, rank_within_class
from .part_prototypes import ClassPartPrototypes, spherical_kmeans
from .pseudo_labeling import (adaptive_unsup_weight, entropy_percentile,
                              entropy_threshold_pseudo_labels, linear_unreliable_ratio,
                              pixel_entropy)

__all__ = [
    'AdaptiveCopyPaste', 'AdaptiveCutMix', 'component_boxes', 'paste_objects',
    'ClassConfidenceBank', 'class_sampling_probs', 'equalization_keep_probs',
    'ClassPartPrototypes', 'spherical_kmeans', 'rank_within_class',
    'CheckedPretrainedInit', 'PretrainedMismatchError',
    'CutMix', 'apply_cutmix', 'cutmix_masks', 'multi_box_masks', 'ClassQueueMemoryBank', 'adaptive_unsup_weight',
    'entropy_percentile', 'entropy_threshold_pseudo_labels', 'linear_unreliable_ratio',
    'pixel_entropy'
]
