# The segmentor of the CamVid `gpu` protocol: MMSeg's DeepLabV3+ R50-D8
# (output stride 8), BN (one GPU), no auxiliary head. `pretrained` is None:
# the lent GPU machines cannot download; pass a local ImageNet checkpoint with
# --cfg-options model.segmentor.pretrained=PATH (all methods alike).
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(test_cfg=dict(size_divisor=8))  # training: the crop (CropSizeHook)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(dilations=(1, 6, 12, 18), num_classes=11, norm_cfg=norm_cfg),
    auxiliary_head=None,
    test_cfg=dict(mode='whole'))
