# DeepLabV3+ on the ImageNet-pretrained EfficientNet-Lite0 (see
# deeplabv3plus_efficientnet-lite0_camvid.py) for the synthetic data: 6
# classes (the 80 x 80 training crops are set by the dataset's pipeline).
_base_ = './deeplabv3plus_efficientnet-lite0_camvid.py'
model = dict(decode_head=dict(num_classes=6))
