# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .checkpoint import (UnsafeCheckpointError, checkpoint_safe_globals,
                         load_from_local_safe, register_checkpoint_safe_globals)
from .dist import init_cpu_distributed

__all__ = [
    'UnsafeCheckpointError', 'checkpoint_safe_globals', 'load_from_local_safe',
    'register_checkpoint_safe_globals', 'init_cpu_distributed'
]
