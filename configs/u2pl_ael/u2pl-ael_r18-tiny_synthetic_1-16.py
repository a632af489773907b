# U2PL w/ AEL on the embedded synthetic dataset, 1/16 labeled: AEL's step plus
# the contrastive head and memory bank of configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py
# (the tests' config).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny_synthetic.py', '../_base_/methods/ael.py',
    '../_base_/models/u2pl.py', '../_base_/datasets/synthetic_semi.py',
    '../_base_/synthetic_runtime.py'
]
model = dict(
    _delete_=True,
    type='U2PLAELSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    memory_bank=dict(type='ClassQueueMemoryBank', length=2000, background_index=0,
                     background_length=3000),
    semi_train_cfg={{_base_.u2pl_ael_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
