# The segmentor of the Cityscapes configs: MMSeg's DeepLabV3+ on ResNet-101 V1c
# (deep stem, ImageNet), output stride 8, SyncBN, OHEM + auxiliary FCN head
# (weight 0.4), slide inference 769 / stride 513.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
# MMSeg's preprocessor (ImageNet mean/std, pad 0 / 255); CropSizeHook pads a
# training batch to the pipeline's crop
model = dict(
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(
        num_classes=19,
        align_corners=True,
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000)),
    auxiliary_head=dict(num_classes=19, align_corners=True),
    test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(513, 513)))
