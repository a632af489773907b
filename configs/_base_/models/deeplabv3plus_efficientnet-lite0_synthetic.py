# DeepLabV3+ on the ImageNet-pretrained EfficientNet-Lite0 (see
# deeplabv3plus_efficientnet-lite0_camvid.py) for the synthetic data: 6
# classes, 80 x 80 training crops. The crop size goes into the segmentor's
# data_preprocessor and into the top-level variable, which MMEngine's Runner
# gives to a semi-supervised wrapper.
_base_ = './deeplabv3plus_efficientnet-lite0_camvid.py'
data_preprocessor = dict(size=(80, 80))
model = dict(data_preprocessor=dict(size=(80, 80)), decode_head=dict(num_classes=6))
