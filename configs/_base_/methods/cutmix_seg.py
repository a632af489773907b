# CutMix-Seg (French et al., BMVC 2020) method defaults: Mean Teacher on CutMix-ed
# unlabeled images (one box of half the image, as in U2PL's re-runs).
cutmix_seg_semi_train_cfg = dict(
    unsup_weight=1.0,
    consistency='ce',
    mixer=dict(type='CutMix', prob=1.0, area=0.5))
cutmix_seg_semi_test_cfg = dict(predict_on='teacher')
# Hooks: the dataset/protocol config sets them (the warm start is its value):
#   custom_hooks = [dict(type='SemiScheduleHook', warm_start_epochs=...),
#                   dict(type='MeanTeacherHook', decay=0.99)]
