# AEL (configs/_base_/methods/ael.py), Cityscapes values (CamVid is a street
# scene of the same kind; no published CamVid values): the same network,
# teacher, schedule and hooks as U2PL in this protocol.
_base_ = ['./u2pl.py', '../_base_/methods/ael.py']
model = dict(
    _delete_=True,
    type='AELSegmentor',
    segmentor={{_base_.model.segmentor}},
    semi_train_cfg={{_base_.ael_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
