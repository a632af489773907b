# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .semi_losses import (anchor_infonce, cross_pseudo_ce, dynamic_soft_labels,
                          pseudo_label_ce, soft_cross_entropy, softmax_mse,
                          weighted_pseudo_label_ce)

__all__ = [
    'anchor_infonce', 'cross_pseudo_ce', 'dynamic_soft_labels', 'pseudo_label_ce',
    'soft_cross_entropy', 'softmax_mse', 'weighted_pseudo_label_ce'
]
