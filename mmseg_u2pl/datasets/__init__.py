# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from .camvid import CamVidDataset
from .semi_dataset import (SemiSegDataset, SplitListDataset, build_split_dataset,
                           leaf_datasets)
from .semi_sampler import SemiSupervisedSampler
from .transforms import CheckSegMap
from .synthetic import SyntheticShapesDataset, generate_synthetic_dataset

__all__ = [
    'CamVidDataset', 'SemiSegDataset', 'SplitListDataset', 'build_split_dataset',
    'SemiSupervisedSampler', 'SyntheticShapesDataset', 'generate_synthetic_dataset',
    'CheckSegMap', 'leaf_datasets'
]
