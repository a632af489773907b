# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Safe checkpoint loading for MMEngine 0.10.x under torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default; MMEngine 0.10.7 does
not pass the flag, and its checkpoints carry a ``MessageHub`` whose
``HistoryBuffer`` holds NumPy arrays. Rather than turning safe loading off,
exactly the types such a checkpoint needs are allow-listed; anything else is
still refused by torch (``Unsupported global``).

MMEngine's ``HistoryBuffer.__getstate__`` also pickles its statistics
functions, which the pickle stream references through the builtin
``getattr``. Allow-listing ``getattr`` would let any checkpoint read
attributes of every allowed object, so instead the buffer is saved without
them: ``HistoryBuffer.__setstate__`` re-creates the default statistics
(min/max/current/mean) on load, and custom ones are registered again when the
module that defines them is imported.
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


def _history_buffer_state(self: HistoryBuffer) -> dict:
    """``HistoryBuffer`` state without function references."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for ``torch.load`` and make
    ``HistoryBuffer`` pickle without function references."""
    HistoryBuffer.__getstate__ = _history_buffer_state
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(checkpoint_safe_globals())
