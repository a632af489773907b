# U2PL on the embedded synthetic dataset with the ImageNet-pretrained
# EfficientNet-Lite0 encoder (the main job of README.md): the data, schedule
# and U2PL settings of u2pl_r18-tiny_synthetic.py, the encoder of the CamVid
# `pretrained` protocol.
_base_ = [
    './models/deeplabv3plus_efficientnet-lite0_synthetic.py', './models/u2pl.py',
    './datasets/synthetic_semi.py', './synthetic_runtime.py'
]
model = dict(
    _delete_=True,
    type='U2PLSemiSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    memory_bank=dict(type='ClassQueueMemoryBank', length=2000, background_index=0,
                     background_length=3000),
    semi_train_cfg={{_base_.u2pl_semi_train_cfg}},
    semi_test_cfg={{_base_.u2pl_semi_test_cfg}})
