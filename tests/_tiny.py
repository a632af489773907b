# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Tiny model configs, batches and data shared by the tests."""
import os.path as osp
import subprocess
import sys

import torch
from mmengine.structures import PixelData

from mmseg.structures import SegDataSample

NUM_CLASSES = 4


def tiny_segmentor_cfg(num_classes: int = NUM_CLASSES, aux: bool = False) -> dict:
    norm_cfg = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0., 0., 0.],
                               std=[1., 1., 1.], size=(32, 32)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                      strides=(1, 2, 1, 1), norm_cfg=norm_cfg, contract_dilation=True),
        decode_head=dict(type='DepthwiseSeparableASPPHead', in_channels=64, in_index=3,
                         channels=16, dilations=(1, 2), c1_in_channels=8, c1_channels=4,
                         dropout_ratio=0.1, num_classes=num_classes, norm_cfg=norm_cfg,
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = dict(type='FCNHead', in_channels=32, in_index=2, channels=8,
                                     num_convs=1, concat_input=False, num_classes=num_classes,
                                     norm_cfg=norm_cfg, align_corners=False,
                                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    return cfg


def tiny_u2pl_cfg(**kwargs) -> dict:
    cfg = dict(
        type='U2PLSemiSegmentor',
        segmentor=tiny_segmentor_cfg(aux=kwargs.pop('aux', False)),
        contrastive_head=dict(type='U2PLContrastiveHead', channels=8, num_anchors=8,
                              num_negatives=16, low_rank=1, high_rank=3,
                              norm_cfg=dict(type='BN', requires_grad=True)),
        memory_bank=dict(type='ClassQueueMemoryBank', length=64, background_index=0,
                         background_length=96))
    cfg.update(kwargs)
    return cfg


def make_batch(num_labeled=2, num_unlabeled=2, size=32, seed=0, label_fn=None):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num_labeled + num_unlabeled):
        inputs.append(torch.rand(3, size, size, generator=g) * 255)
        ds = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                         pad_shape=(size, size),
                                         seg_map_path=f'label_{i}.png'))
        if i < num_labeled:
            gt = torch.randint(0, NUM_CLASSES, (1, size, size), generator=g)
            if label_fn is not None:
                gt = label_fn(gt)
            ds.gt_sem_seg = PixelData(data=gt)
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def make_synthetic_split(tmp, seed: int = 3) -> None:
    """The synthetic dataset (48 train / 4 val images) under ``tmp/data/synthetic``
    and its 1/16 split (8 labeled, 40 unlabeled) under ``tmp/data/splits``."""
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    data = osp.join(str(tmp), 'data/synthetic')
    generate_synthetic_dataset(data, num_train=48, num_val=4, seed=seed)
    subprocess.run([sys.executable, osp.join(root, 'tools/make_semi_splits.py'), 'mmseg',
                    '--data-root', data, '--num-labeled', '8', '--out',
                    'data/splits/synthetic/1-16'], cwd=str(tmp), check=True,
                   capture_output=True)
