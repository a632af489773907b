# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Load pretrained weights into a module all or nothing.

MMEngine's ``Pretrained`` initializer loads with ``strict=False`` and only logs
missing or unexpected keys: a checkpoint of another architecture leaves a
backbone silently (partly) random. ``CheckedPretrained`` refuses it instead,
naming the file and the first key that does not fit.
"""
import os.path as osp
from typing import Sequence

import torch
from mmengine.model.weight_init import update_init_info
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from mmseg.registry import WEIGHT_INITIALIZERS

__all__ = ['CheckedPretrainedInit', 'PretrainedMismatchError']


class PretrainedMismatchError(ValueError):
    """A pretrained checkpoint does not fit the module it is loaded into."""


@WEIGHT_INITIALIZERS.register_module(name='CheckedPretrained')
class CheckedPretrainedInit:
    """Initialise a module from a checkpoint, refusing any mismatch.

    Every tensor of the module's state dict (parameters and persistent
    buffers) must be in the checkpoint with the same shape, and every
    checkpoint tensor must be used, except those under ``skip_prefixes``
    (e.g. the classifier of an ImageNet checkpoint loaded into a
    feature-only backbone).

    Example (MMSeg's ``TIMMBackbone``, whose timm network is ``timm_model``)::

        init_cfg=dict(type='CheckedPretrained',
                      checkpoint='checkpoints/tf_efficientnet_lite0_imagenet.pth',
                      module_prefix='timm_model.',
                      skip_prefixes=('conv_head.', 'bn2.', 'classifier.'))

    Args:
        checkpoint (str): Path of the checkpoint (a state dict or a dict with
            ``state_dict``).
        module_prefix (str): Prefix of the module's keys that the checkpoint's
            keys lack. Defaults to ''.
        skip_prefixes (Sequence[str]): Checkpoint keys starting with one of
            these are not loaded. Defaults to ().
        hint (str): Appended to the error when the file does not exist (how
            to create it). Defaults to ''.
        map_location (str): Defaults to 'cpu'.
    """

    def __init__(self,
                 checkpoint: str,
                 module_prefix: str = '',
                 skip_prefixes: Sequence[str] = (),
                 hint: str = '',
                 map_location: str = 'cpu'):
        self.checkpoint = checkpoint
        self.module_prefix = module_prefix
        self.skip_prefixes = tuple(skip_prefixes)
        self.hint = hint
        self.map_location = map_location

    def load_checked(self, module: nn.Module) -> None:
        """Load the checkpoint into ``module`` or raise
        :class:`PretrainedMismatchError` / ``FileNotFoundError``."""
        path = self.checkpoint
        if '://' not in path and not osp.isfile(path):
            raise FileNotFoundError(f'pretrained checkpoint not found: {osp.abspath(path)}'
                                    + (f'. {self.hint}' if self.hint else ''))
        ckpt = CheckpointLoader.load_checkpoint(path, map_location=self.map_location)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise PretrainedMismatchError(f'{path} holds no state dict')
        loaded = {self.module_prefix + k: v for k, v in state.items()
                  if not k.startswith(self.skip_prefixes)}
        own = module.state_dict()
        for key, ref in own.items():
            if key not in loaded:
                raise PretrainedMismatchError(
                    f'{path} does not fit {type(module).__name__}: first mismatching key '
                    f'{key!r} is missing from the checkpoint')
            if tuple(loaded[key].shape) != tuple(ref.shape):
                raise PretrainedMismatchError(
                    f'{path} does not fit {type(module).__name__}: first mismatching key '
                    f'{key!r} has shape {tuple(loaded[key].shape)} in the checkpoint, '
                    f'{tuple(ref.shape)} in the model')
        extra = [k for k in loaded if k not in own]
        if extra:
            raise PretrainedMismatchError(
                f'{path} does not fit {type(module).__name__}: first mismatching key '
                f'{extra[0][len(self.module_prefix):]!r} of the checkpoint (model key '
                f'{extra[0]!r}) is not in the model')
        module.load_state_dict(loaded, strict=True)

    def __call__(self, module: nn.Module) -> None:
        self.load_checked(module)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f'{self.__class__.__name__}: load all tensors from {self.checkpoint}'
