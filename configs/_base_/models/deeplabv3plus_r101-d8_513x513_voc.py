# The segmentor of the VOC configs: MMSeg's DeepLabV3+ on ResNet-101 V1c (deep
# stem, ImageNet), output stride 8, SyncBN, CE, no auxiliary head.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(513, 513))
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21, align_corners=True),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))
