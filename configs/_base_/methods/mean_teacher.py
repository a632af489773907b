# Mean Teacher (Tarvainen & Valpola, 2017) method defaults. Dataset configs wrap
# their segmentor with:
#   model = dict(_delete_=True, type='MeanTeacherSegmentor', segmentor={{_base_.model}},
#                semi_train_cfg={{_base_.mean_teacher_semi_train_cfg}}, ...)
mean_teacher_semi_train_cfg = dict(
    unsup_weight=1.0,   # weight of the consistency loss (chosen: the U2PL re-runs' 1.0)
    consistency='ce')   # 'ce': hard argmax (U2PL's re-runs); 'mse': softmax MSE (classic)
mean_teacher_semi_test_cfg = dict(predict_on='teacher')
# Hooks: the dataset/protocol config sets them (the warm start is its value):
#   custom_hooks = [dict(type='SemiScheduleHook', warm_start_epochs=...),
#                   dict(type='MeanTeacherHook', decay=0.99)]
