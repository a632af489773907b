# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .pseudo_label_quality import PseudoLabelQuality

__all__ = ['PseudoLabelQuality']
