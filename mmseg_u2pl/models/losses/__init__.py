# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .semi_losses import (cross_pseudo_ce, pseudo_label_ce, softmax_mse,
                          weighted_pseudo_label_ce)

__all__ = ['cross_pseudo_ce', 'pseudo_label_ce', 'softmax_mse', 'weighted_pseudo_label_ce']
