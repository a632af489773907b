# AEL on the embedded synthetic dataset, 1/16 labeled: the network, data,
# schedule, warm start and EMA teacher of configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py
# (the tests' config).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny_synthetic.py', '../_base_/methods/ael.py',
    '../_base_/datasets/synthetic_semi.py', '../_base_/synthetic_runtime.py'
]
model = dict(
    _delete_=True,
    type='AELSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg={{_base_.ael_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
