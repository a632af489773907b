# U2PL w/ AEL: AEL's step (Cityscapes values, as configs/camvid/ael.py) plus
# U2PL's L_c with the contrastive head and memory bank of configs/camvid/u2pl.py.
_base_ = ['./u2pl.py', '../_base_/methods/ael.py']
model = dict(
    _delete_=True,
    type='U2PLAELSegmentor',
    segmentor={{_base_.model.segmentor}},
    contrastive_head={{_base_.model.contrastive_head}},
    memory_bank={{_base_.model.memory_bank}},
    semi_train_cfg={{_base_.u2pl_ael_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
