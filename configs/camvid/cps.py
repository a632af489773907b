# CPS with CutMix (configs/_base_/methods/cps.py): two networks of the protocol's
# segmentor, network 1 evaluated, no EMA teacher. lambda = 1.0 is chosen (CamVid
# has no published value; 1 is CPS's VOC value with CutMix, Cityscapes' 5 goes
# with OHEM and 800 x 800 crops); not tuned on the validation set.
_base_ = ['./u2pl.py', '../_base_/methods/cps.py']
model = dict(
    _delete_=True,
    type='CPSSegmentor',
    segmentor={{_base_.model.segmentor}},
    semi_train_cfg=dict(cps_weight=1.0, mixer={{_base_.cps_mixer}}),
    semi_test_cfg={{_base_.cps_semi_test_cfg}})
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
]
