# ESL on the embedded synthetic dataset, 1/16 labeled: the network, data,
# schedule, warm start and EMA teacher of configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py;
# a 64-d projector for speed (the tests' config).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny_synthetic.py', '../_base_/methods/esl.py',
    '../_base_/datasets/synthetic_semi.py', '../_base_/synthetic_runtime.py'
]
model = dict(
    _delete_=True,
    type='ESLSegmentor',
    segmentor={{_base_.model}},
    projector=dict(channels=64, norm_cfg=dict(type='SyncBN', requires_grad=True)),
    prototypes={{_base_.esl_prototypes}},
    memory_bank={{_base_.esl_memory_bank}},
    semi_train_cfg={{_base_.esl_semi_train_cfg}},
    semi_test_cfg={{_base_.esl_semi_test_cfg}})
