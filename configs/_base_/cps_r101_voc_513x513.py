# CPS with CutMix on PASCAL VOC 2012 (methods/cps.py): lambda = 1 (CPS's VOC
# value with CutMix), 3 boxes of total area U(0.25, 0.5), CE as L_s, network 1
# evaluated. Protocol: U2PL's (network, crop 513, random scale [0.5, 2],
# 4 GPUs x (4 + 4), 80 epochs, lr 0.001, warm start 1 epoch), the one every
# method of this package uses; CPS's own crop 512 and scales {0.5, ..., 1.75}
# are not used (README, methods table).
_base_ = ['./semi_r101_voc_513x513.py', './methods/cps.py']
model = dict(
    _delete_=True,
    type='CPSSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg=dict(cps_weight=1.0, mixer={{_base_.cps_mixer}}),
    semi_test_cfg={{_base_.cps_semi_test_cfg}})
custom_hooks = [  # no EMA teacher: the schedule hook only
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
]
