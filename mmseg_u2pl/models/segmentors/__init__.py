# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .semi_base import SemiBaseSegmentor, capture_classifier_input
from .u2pl_semi_segmentor import U2PLSemiSegmentor

__all__ = ['SemiBaseSegmentor', 'U2PLSemiSegmentor', 'capture_classifier_input']
