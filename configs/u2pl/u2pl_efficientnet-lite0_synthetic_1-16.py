# U2PL, synthetic data, 1/16 labeled, ImageNet-pretrained EfficientNet-Lite0
# (the main job of README.md).
_base_ = '../_base_/u2pl_efficientnet-lite0_synthetic.py'
model = dict(contrastive_head=dict(channels=64, num_anchors=32, num_negatives=64,
                                   norm_cfg=dict(type='BN', requires_grad=True)))
