# SupOnly, synthetic data, 1/16 labeled, ImageNet-pretrained EfficientNet-Lite0
# (the main job of README.md).
_base_ = '../_base_/suponly_efficientnet-lite0_synthetic.py'
