# CPS with CutMix on Cityscapes (methods/cps.py): lambda = 5 (CPS's Cityscapes
# value with CutMix), 3 boxes of total area U(0.25, 0.5), OHEM as L_s (in the
# network), network 1 evaluated. Protocol: U2PL's (network, crop 769, random
# scale [0.5, 2], 8 GPUs x (2 + 2), 200 epochs, lr 0.01, warm start 20 epochs),
# as U2PL re-ran CPS for its Tab. 3; CPS's own crop 800, scales {0.5, ...,
# 1.75} and 8 + 8 images per iteration are not used (README, methods table).
_base_ = ['./semi_r101_cityscapes_769x769.py', './methods/cps.py']
model = dict(
    _delete_=True,
    type='CPSSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg=dict(cps_weight=5.0, mixer={{_base_.cps_mixer}}),
    semi_test_cfg={{_base_.cps_semi_test_cfg}})
custom_hooks = [  # no EMA teacher: the schedule hook only
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
]
