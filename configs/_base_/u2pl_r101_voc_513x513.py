# U2PL on PASCAL VOC 2012, paper settings (reference Sec. 2): DeepLabV3+
# ResNet-101 V1c, output stride 8, SyncBN, 4 GPUs x (4 labeled + 4 unlabeled),
# crop 513, CE, SGD lr 0.001 wd 1e-4, decoder 10 x lr, poly 0.9, 80 epochs of
# the unlabeled set, warm start 1 epoch, center-crop 513 evaluation.
_base_ = ['./semi_r101_voc_513x513.py', './models/u2pl.py']
model = dict(
    _delete_=True,
    type='U2PLSemiSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    memory_bank={{_base_.u2pl_memory_bank}},  # background (class 0): 50000
    semi_train_cfg={{_base_.u2pl_semi_train_cfg}},
    semi_test_cfg={{_base_.u2pl_semi_test_cfg}})
