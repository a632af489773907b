# CPS with CutMix on the embedded synthetic dataset, 1/16 labeled: the network,
# data and schedule of configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py; lambda = 1
# (the VOC value with CutMix, chosen: the synthetic data has no published one).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny_synthetic.py', '../_base_/methods/cps.py',
    '../_base_/datasets/synthetic_semi.py', '../_base_/synthetic_runtime.py'
]
model = dict(
    _delete_=True,
    type='CPSSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg=dict(cps_weight=1.0, mixer={{_base_.cps_mixer}}),
    semi_test_cfg={{_base_.cps_semi_test_cfg}})
custom_hooks = [dict(type='SemiScheduleHook', warm_start_epochs=1)]
