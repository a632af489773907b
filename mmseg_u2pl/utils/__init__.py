# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .checkpoint import (UnsafeCheckpointError, checkpoint_safe_globals,
                         load_from_local_safe, network_of, network_state_dict,
                         register_checkpoint_safe_globals, repoint_last_checkpoint)
from .dist import init_cpu_distributed
from .precision import float32
from .semi_schedule import (SemiSchedule, current_semi_schedule, unlabeled_epoch_size,
                            publish_semi_schedule)

__all__ = [
    'UnsafeCheckpointError', 'checkpoint_safe_globals', 'load_from_local_safe', 'network_of',
    'network_state_dict', 'register_checkpoint_safe_globals', 'repoint_last_checkpoint',
    'init_cpu_distributed', 'float32',
    'SemiSchedule', 'current_semi_schedule', 'unlabeled_epoch_size', 'publish_semi_schedule'
]
