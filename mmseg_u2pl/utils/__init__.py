# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .checkpoint import checkpoint_safe_globals, register_checkpoint_safe_globals
from .dist import init_cpu_distributed

__all__ = [
    'checkpoint_safe_globals', 'register_checkpoint_safe_globals', 'init_cpu_distributed'
]
