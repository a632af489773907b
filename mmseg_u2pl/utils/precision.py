# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""fp32 islands for mixed-precision training (MMEngine's AmpOptimWrapper).

Under autocast, matrix products run in fp16 / bf16. Where precision matters
(softmax / entropy and their percentiles for the pseudo-labels, the
contrastive similarities divided by a temperature, the losses against
pseudo-labels, the banks and prototypes) the package computes in fp32:
functions decorated with :func:`float32` run with autocast off and their
floating-point tensor arguments cast to fp32.
"""
import functools

import torch

__all__ = ['float32']


def _cast(x):
    return x.float() if torch.is_tensor(x) and x.is_floating_point() else x


def float32(fn):
    """Run ``fn`` in fp32: autocast disabled on the device of its first
    tensor argument, floating-point tensor arguments cast to fp32."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device = next((a.device.type for a in list(args) + list(kwargs.values())
                       if torch.is_tensor(a)), 'cpu')
        if not torch.is_autocast_enabled(device):  # fp32 run: nothing to do
            return fn(*args, **kwargs)
        with torch.autocast(device_type=device, enabled=False):
            return fn(*[_cast(a) for a in args], **{k: _cast(v) for k, v in kwargs.items()})

    return wrapper
