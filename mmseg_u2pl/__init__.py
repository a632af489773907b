# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""mmseg_u2pl: semi-supervised semantic segmentation (U2PL) for MMSegmentation 1.x.

Importing the package registers its components in MMSeg's registries
(configs use ``custom_imports = dict(imports=['mmseg_u2pl'])``) and changes
nothing else. The compatibility fix for saving and loading MMEngine
checkpoints under torch >= 2.6 is applied by the package's ``tools/train.py``
and ``tools/test.py``, by :class:`SafeCheckpointHook` (in every config's
``default_hooks``) or explicitly with
:func:`register_checkpoint_safe_globals`.
"""
from .utils import register_checkpoint_safe_globals
from .version import __version__

from . import datasets, engine, models  # noqa: E402,F401  (registration)

__all__ = ['__version__', 'register_checkpoint_safe_globals']
