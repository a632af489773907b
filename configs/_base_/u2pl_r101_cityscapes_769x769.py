# U2PL on Cityscapes, paper settings (reference Sec. 2): DeepLabV3+ ResNet-101
# V1c (deep stem), output stride 8, SyncBN, 8 GPUs x (2 labeled + 2 unlabeled),
# crop 769, OHEM + auxiliary head (0.4), SGD lr 0.01 wd 5e-4, decoder 10 x lr,
# poly 0.9, 200 epochs of the unlabeled set, warm start 20 epochs, slide
# evaluation 769 / stride 513 on the full 2048 x 1024 image.
_base_ = [
    './models/u2pl_deeplabv3plus_r50-d8.py', './datasets/cityscapes_semi_769x769.py',
    './schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py'
]
crop_size = (769, 769)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        data_preprocessor=data_preprocessor,
        pretrained='open-mmlab://resnet101_v1c',
        backbone=dict(depth=101),
        decode_head=dict(
            num_classes=19,
            align_corners=True,
            sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000)),
        auxiliary_head=dict(num_classes=19, align_corners=True),
        test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(513, 513))),
    memory_bank=dict(background_index=None))  # no background class: 30000 for all
custom_hooks = [
    dict(type='EntropyPartitionHook', warm_start_epochs=20, dynamic=True),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
