# CutMix-Seg on Cityscapes: the network, data, batch, schedule, warm start and
# EMA teacher of U2PL's re-runs (U2PL Sec. 4.1, Tab. 1-3 "CutMix†"); one box
# of half the image, hard-label CE against the mixed teacher prediction.
_base_ = ['./semi_r101_cityscapes_769x769.py', './methods/cutmix_seg.py']
model = dict(
    _delete_=True,
    type='CutMixSegSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg={{_base_.cutmix_seg_semi_train_cfg}},
    semi_test_cfg={{_base_.cutmix_seg_semi_test_cfg}})
