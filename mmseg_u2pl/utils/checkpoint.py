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

A local checkpoint that holds any other pickled type is refused with a
message that names the file and the type (:class:`UnsafeCheckpointError`),
instead of torch's generic "Weights only load failed".
"""
import os
import os.path as osp
import pickle
import re
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, load_from_local

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'UnsafeCheckpointError',
    'load_from_local_safe', 'network_of', 'network_state_dict', 'repoint_last_checkpoint'
]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled type that is not allow-listed."""


def load_from_local_safe(filename: str, map_location=None):
    """MMEngine's local-file checkpoint loader, with a clear refusal.

    Registered for plain paths in ``CheckpointLoader``, so ``load_from``,
    ``resume`` and ``tools/test.py CONFIG CKPT`` all go through it.
    """
    try:
        return load_from_local(filename, map_location)
    except pickle.UnpicklingError as e:
        found = re.search(r'GLOBAL ([\w.]+)', str(e))
        what = found.group(1) if found else 'a type that is not allow-listed'
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {osp.abspath(osp.expanduser(filename))}: it holds '
            f'{what}, which is not on the safe-loading allow-list (torch.load with '
            'weights_only=True; mmseg_u2pl allows tensors, MMEngine\'s HistoryBuffer and '
            'NumPy arrays/scalars). Unpickling other types can run arbitrary code. If you '
            'trust this file, allow-list exactly that type with '
            'torch.serialization.add_safe_globals([...]) before loading, or convert the '
            'checkpoint to a plain state_dict.') from e


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
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_safe, force=True)


def network_of(model_cfg: dict, network: Optional[str] = None) -> Optional[str]:
    """The network of a semi-supervised wrapper config that a tool should use:
    ``network`` if given, else the one the wrapper evaluates
    (``semi_test_cfg.predict_on``, else the class's ``default_predict_on``:
    the teacher; CPS: network 1). None for a plain segmentor config."""
    from mmseg.registry import MODELS
    if 'segmentor' not in model_cfg:
        return None
    if network is not None:
        return network
    cls = MODELS.get(model_cfg['type'])
    return (model_cfg.get('semi_test_cfg') or {}).get(
        'predict_on', getattr(cls, 'default_predict_on', 'teacher'))


def network_state_dict(model_cfg: dict, state: dict, own: dict, checkpoint: str, config: str,
                       network: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The weights of one network from a checkpoint's ``state_dict``, checked.

    Args:
        model_cfg (dict): ``cfg.model`` of the config the checkpoint was
            trained with (a plain segmentor or a semi-supervised wrapper).
        state (dict): The checkpoint's ``state_dict``.
        own (dict): ``state_dict()`` of the plain segmentor that will hold
            the weights (names and shapes to match).
        checkpoint (str), config (str): Named in the errors.
        network (str, optional): The wrapper's network (``teacher``,
            ``student``, ``peer``); default: :func:`network_of`.

    Returns:
        dict: ``own``'s keys with the checkpoint's tensors. Keys of a
        wrapper that the plain segmentor lacks (the other network, the memory
        bank, U2PL's contrastive head, ESL's projector) stay behind.

    Raises:
        ValueError: naming the checkpoint, the config and the first key that
            is missing or has another shape, or, for a plain segmentor's
            checkpoint, the first key that is not in the network.
    """
    name = network_of(model_cfg, network)
    where = f'checkpoint {checkpoint} does not hold the network of config {config}'
    if name is not None:
        prefix = f'{name}.'
        if not any(k.startswith(prefix) for k in state):
            raise ValueError(f'{where}: it has no {name} network (no key starts with '
                             f'{prefix!r})')
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    for k, v in own.items():
        if k not in state:
            raise ValueError(f'{where}: key {k!r} of the network is missing in the checkpoint')
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f'{where}: key {k!r} has shape {tuple(state[k].shape)} in the '
                             f'checkpoint, {tuple(v.shape)} in the network')
    extra = [k for k in state if k not in own]
    if extra and name is None:  # a wrapper's network may carry heads of its own
        raise ValueError(f'{where}: key {extra[0]!r} of the checkpoint is not in the network')
    return {k: state[k] for k in own}


def repoint_last_checkpoint(work_dir: str) -> Optional[str]:
    """Point a stale ``last_checkpoint`` at the run directory's own copy.

    MMEngine writes the absolute path of the newest checkpoint into
    ``{work_dir}/last_checkpoint`` and ``--resume`` follows it. A work dir that
    was moved (or reached through another checkout or a symlink) keeps the old
    path, and the resume fails with ``FileNotFoundError``. When the file it
    names is missing but ``work_dir`` holds a checkpoint of the same name, the
    pointer is rewritten; returns the new target (None when nothing changed).
    ``tools/train.py --resume`` calls it before MMEngine looks for the latest
    checkpoint.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        target = f.read().strip()
    local = osp.join(osp.abspath(work_dir), osp.basename(target))
    if not target or osp.isfile(target) or not osp.isfile(local):
        return None
    tmp = f'{pointer}.{os.getpid()}.tmp'  # every rank may do this: replace atomically
    with open(tmp, 'w') as f:
        f.write(local)
    os.replace(tmp, pointer)
    return local
