# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .ael import AELSegmentor
from .cps import CPSSegmentor
from .cutmix_seg import CutMixSegSegmentor
from .esl import ESLSegmentor
from .mean_teacher import MeanTeacherSegmentor
from .semi_base import SemiBaseSegmentor, SemiStep, capture_classifier_input
from .u2pl_ael import U2PLAELSegmentor
from .u2pl_semi_segmentor import U2PLSemiSegmentor

__all__ = [
    'AELSegmentor', 'U2PLAELSegmentor', 'CPSSegmentor', 'ESLSegmentor', 'CutMixSegSegmentor', 'MeanTeacherSegmentor', 'SemiBaseSegmentor', 'SemiStep',
    'U2PLSemiSegmentor', 'capture_classifier_input'
]
