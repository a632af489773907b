# U2PL w/ AEL on PASCAL VOC 2012: AEL's step (configs/_base_/methods/ael.py) plus
# U2PL's L_c with the paper's hyper-parameters (configs/_base_/models/u2pl.py),
# the U2PL paper's strongest Cityscapes rows (Tab. 3); same protocol as AEL.
_base_ = ['./semi_r101_voc_513x513.py', './methods/ael.py', './models/u2pl.py']
model = dict(
    _delete_=True,
    type='U2PLAELSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    memory_bank={{_base_.u2pl_memory_bank}},  # background (class 0): 50000
    semi_train_cfg={{_base_.u2pl_ael_voc_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
