# U2PL w/ AEL on Cityscapes: AEL's step (configs/_base_/methods/ael.py) plus
# U2PL's L_c with the paper's hyper-parameters (configs/_base_/models/u2pl.py),
# the U2PL paper's strongest Cityscapes rows (Tab. 3); same protocol as AEL.
_base_ = ['./semi_r101_cityscapes_769x769.py', './methods/ael.py', './models/u2pl.py']
model = dict(
    _delete_=True,
    type='U2PLAELSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    # Cityscapes has no background class: 30000 for every queue
    memory_bank=dict(type='ClassQueueMemoryBank', length=30000, background_index=None),
    semi_train_cfg={{_base_.u2pl_ael_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
