# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .u2pl_contrastive_head import U2PLContrastiveHead

__all__ = ['U2PLContrastiveHead']
