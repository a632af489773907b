# The segmentor of the synthetic (CPU) configs: DeepLabV3+ on a narrow
# ResNet-18 V1c (base width 16), output stride 8, BN, no pretrained weights.
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
# MMSeg's preprocessor, padded to a multiple of 8 at test time (training: to
# the pipeline's crop, by CropSizeHook)
data_preprocessor = dict(test_cfg=dict(size_divisor=8))
model = dict(
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
    test_cfg=dict(mode='whole'))
