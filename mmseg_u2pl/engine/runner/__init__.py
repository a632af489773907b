# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .loops import SemiIterBasedTrainLoop

__all__ = ['SemiIterBasedTrainLoop']
