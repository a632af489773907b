# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .crop_size_hook import CropSizeHook, set_crop_size, train_crop_size
from .mean_teacher_hook import MeanTeacherHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .num_class_check_hook import NumClassCheckHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .random_state_hook import RandomStateHook, get_random_state, set_random_state
from .semi_schedule_hook import EntropyPartitionHook, SemiScheduleHook
from .semi_visualization_hook import SemiVisualizationHook, semi_panel

__all__ = [
    'CropSizeHook', 'EntropyPartitionHook', 'MeanTeacherHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'NumClassCheckHook', 'RandomStateHook', 'SafeCheckpointHook',
    'SemiScheduleHook', 'SemiVisualizationHook', 'get_random_state', 'semi_panel',
    'set_crop_size', 'set_random_state', 'train_crop_size'
]
