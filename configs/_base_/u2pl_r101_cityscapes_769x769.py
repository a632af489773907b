# U2PL on Cityscapes, paper settings (reference Sec. 2): DeepLabV3+ ResNet-101
# V1c, output stride 8, SyncBN, 8 GPUs x (2 labeled + 2 unlabeled), crop 769,
# OHEM + auxiliary head (0.4), SGD lr 0.01 wd 5e-4, decoder 10 x lr, poly 0.9,
# 200 epochs of the unlabeled set, warm start 20 epochs, slide evaluation
# 769 / stride 513 on the full 2048 x 1024 image.
_base_ = ['./semi_r101_cityscapes_769x769.py', './models/u2pl.py']
model = dict(
    _delete_=True,
    type='U2PLSemiSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    # Cityscapes has no background class: 30000 for every queue
    memory_bank=dict(type='ClassQueueMemoryBank', length=30000, background_index=None),
    semi_train_cfg={{_base_.u2pl_semi_train_cfg}},
    semi_test_cfg={{_base_.u2pl_semi_test_cfg}})
