# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Safe checkpoint loading for MMEngine 0.10.x under torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default; MMEngine 0.10.7 does
not pass the flag, and its checkpoints carry a ``MessageHub`` whose
``HistoryBuffer`` holds NumPy arrays. Rather than turning safe loading off,
exactly the types such a checkpoint needs are allow-listed; anything else is
still refused by torch (``Unsupported global``).
"""
from typing import List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

__all__ = ['checkpoint_safe_globals', 'register_checkpoint_safe_globals']


def checkpoint_safe_globals() -> List:
    """The globals an MMEngine training checkpoint needs, beyond torch's own."""
    try:  # NumPy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32,
                                          np.bool_, np.uint8)]
    entries = [HistoryBuffer, np.ndarray, np.dtype, *dtypes]
    # pickles from NumPy 1 and 2 name these functions differently
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries += [(_reconstruct, f'{mod}._reconstruct'), (scalar, f'{mod}.scalar')]
    return entries


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
