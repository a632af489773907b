# CutMix-Seg (French et al., BMVC 2020): Mean Teacher on CutMix-ed unlabeled
# images, hard-label CE against the teacher's argmax on every pixel; the same
# network, teacher, CutMix, schedule and hooks as U2PL in this protocol.
_base_ = './u2pl.py'
model = dict(
    _delete_=True,
    type='CutMixSegSegmentor',
    segmentor={{_base_.model.segmentor}},
    semi_train_cfg=dict(unsup_weight=1.0, consistency='ce',
                        mixer={{_base_.model.semi_train_cfg.mixer}}),
    semi_test_cfg={{_base_.model.semi_test_cfg}})
