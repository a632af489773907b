# Mean Teacher on PASCAL VOC 2012: the network, data, batch, schedule, warm start and
# EMA teacher of U2PL's re-runs (U2PL Sec. 4.1: MT re-implemented under the
# same setting, Tab. 1-3 "MT†"); hard-label CE consistency, teacher evaluated.
_base_ = ['./semi_r101_voc_513x513.py', './methods/mean_teacher.py']
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg={{_base_.mean_teacher_semi_train_cfg}},
    semi_test_cfg={{_base_.mean_teacher_semi_test_cfg}})
