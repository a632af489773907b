# U2PL on the embedded synthetic dataset, sized for 2 CPU cores: DeepLabV3+ on
# a narrow ResNet-18 V1c (base width 16), output stride 8, BN, 4 + 4 crops of
# 80 x 80, no pretrained weights. Same paper hyper-parameters otherwise, except
# M/N and the queue lengths, scaled down with the data.
_base_ = [
    './models/u2pl_deeplabv3plus_r50-d8.py', './datasets/synthetic_semi.py',
    './schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py'
]
crop_size = (80, 80)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size,
    test_cfg=dict(size_divisor=8))
model = dict(
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        data_preprocessor=data_preprocessor,
        pretrained=None,
        backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
        decode_head=dict(
            in_channels=128,
            channels=64,
            c1_in_channels=16,
            c1_channels=12,
            dilations=(1, 2, 4, 6),
            num_classes=6,
            norm_cfg=norm_cfg),
        auxiliary_head=None,
        test_cfg=dict(mode='whole')),
    contrastive_head=dict(channels=64, num_anchors=32, num_negatives=64, norm_cfg=norm_cfg),
    memory_bank=dict(length=2000, background_index=0, background_length=3000))
custom_hooks = [
    dict(type='EntropyPartitionHook', warm_start_epochs=1, dynamic=True),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
max_iters = 600
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
