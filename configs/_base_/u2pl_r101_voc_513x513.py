# U2PL on PASCAL VOC 2012, paper settings (reference Sec. 2): DeepLabV3+
# ResNet-101 V1c, output stride 8, SyncBN, 4 GPUs x (4 labeled + 4 unlabeled),
# crop 513, CE, SGD lr 0.001 wd 1e-4, decoder 10 x lr, poly 0.9, 80 epochs of
# the unlabeled set, warm start 1 epoch, center-crop 513 evaluation.
_base_ = [
    './models/u2pl_deeplabv3plus_r50-d8.py', './datasets/voc_semi_513x513.py',
    './schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py'
]
crop_size = (513, 513)
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
        decode_head=dict(num_classes=21, align_corners=True),
        auxiliary_head=None,
        test_cfg=dict(mode='whole')),
    memory_bank=dict(background_index=0, background_length=50000))
custom_hooks = [
    dict(type='EntropyPartitionHook', warm_start_epochs=1, dynamic=True),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
optimizer = dict(lr=0.001, weight_decay=0.0001)
optim_wrapper = dict(optimizer=optimizer)
