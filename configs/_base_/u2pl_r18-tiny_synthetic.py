# U2PL on the embedded synthetic dataset, sized for 2 CPU cores: DeepLabV3+ on
# a narrow ResNet-18 V1c, 4 + 4 crops of 80 x 80, no pretrained weights. Paper
# hyper-parameters, except M/N and the queue lengths (scaled with the data)
# and the representation dim (64, for speed).
_base_ = [
    './models/deeplabv3plus_r18-tiny_synthetic.py', './models/u2pl.py',
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
