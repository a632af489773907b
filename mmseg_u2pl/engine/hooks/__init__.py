# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .entropy_partition_hook import EntropyPartitionHook
from .mean_teacher_hook import MeanTeacherHook

__all__ = ['EntropyPartitionHook', 'MeanTeacherHook']
