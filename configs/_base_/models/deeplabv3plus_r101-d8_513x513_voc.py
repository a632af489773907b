# The segmentor of the VOC configs: MMSeg's DeepLabV3+ on ResNet-101 V1c (deep
# stem, ImageNet), output stride 8, SyncBN, CE, no auxiliary head.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
# MMSeg's preprocessor (ImageNet mean/std, pad 0 / 255); CropSizeHook pads a
# training batch to the pipeline's crop
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21, align_corners=True),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))
