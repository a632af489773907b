# The segmentor of the CamVid `cpu` protocol: DeepLabV3+ on a half-width
# ResNet-18 V1c (base width 32), output stride 8, BN, trained from scratch
# (no pretrained weights can be downloaded on the project's machines).
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(test_cfg=dict(size_divisor=8))  # training: the crop (CropSizeHook)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(depth=18, stem_channels=32, base_channels=32, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=256, channels=128, c1_in_channels=32, c1_channels=24,
                     dilations=(1, 3, 6, 9), num_classes=11, norm_cfg=norm_cfg),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))
