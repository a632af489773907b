# Hypothesis 2 of the CamVid `pretrained` protocol: the same protocol at 3/4
# resolution (360 x 270 images, 240 x 240 crops); everything else unchanged.
_base_ = [
    './models/deeplabv3plus_efficientnet-lite0_camvid.py',
    './datasets/camvid_semi_360x270.py', './schedules/camvid_1500it.py',
    'mmseg::_base_/default_runtime.py'
]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
