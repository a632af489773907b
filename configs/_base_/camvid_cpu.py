# CamVid benchmark, `cpu` protocol (tools/benchmark/semi_protocol.py), the
# previous protocol: everything trained from scratch. One U2PL run of one split
# and seed in about 30 minutes on 2 CPU cores. 240 x 180 images, 160 x 160
# crops, DeepLabV3+ on a half-width ResNet-18 from scratch, 4 labeled (+ 4
# unlabeled) images per iteration, 1500 iterations, SGD lr 0.01 (decoder 10 x),
# poly (schedules/camvid_1500it.py). Every method uses this file unchanged;
# `model` here is the plain segmentor.
_base_ = [
    './models/deeplabv3plus_r18-w32_camvid.py', './datasets/camvid_semi_240x180.py',
    './schedules/camvid_1500it.py', 'mmseg::_base_/default_runtime.py'
]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
