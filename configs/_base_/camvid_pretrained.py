# CamVid benchmark, `pretrained` protocol (tools/benchmark/semi_protocol.py):
# the data, schedule and batch of the `cpu` protocol (240 x 180 images,
# 160 x 160 crops, 4 labeled + 4 unlabeled per iteration, 1500 iterations, SGD
# lr 0.01 with the decoder at 10 x, poly) with an ImageNet-pretrained encoder
# instead of a network trained from scratch: DeepLabV3+ on EfficientNet-Lite0,
# output stride 16. Every method uses this file unchanged; `model` here is the
# plain segmentor.
_base_ = [
    './models/deeplabv3plus_efficientnet-lite0_camvid.py',
    './datasets/camvid_semi_240x180.py', './schedules/camvid_1500it.py',
    'mmseg::_base_/default_runtime.py'
]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
