# Mean Teacher (configs/_base_/methods/mean_teacher.py): hard-label CE against the
# EMA teacher's argmax on the same unlabeled images; the same network, teacher,
# schedule and hooks as U2PL in this protocol.
_base_ = ['./u2pl.py', '../_base_/methods/mean_teacher.py']
model = dict(
    _delete_=True,
    type='MeanTeacherSegmentor',
    segmentor={{_base_.model.segmentor}},
    semi_train_cfg={{_base_.mean_teacher_semi_train_cfg}},
    semi_test_cfg={{_base_.mean_teacher_semi_test_cfg}})
