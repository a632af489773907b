# CPS (Chen et al., CVPR 2021) method defaults: two trained networks, no EMA
# teacher (so no MeanTeacherHook). lambda per dataset and CutMix setting:
# 1.5 (VOC) / 6 (Cityscapes) without CutMix, 1 / 5 with it.
cps_mixer = dict(type='CutMix', prob=1.0, area=(0.25, 0.5), num_boxes=3)
cps_semi_train_cfg = dict(cps_weight=1.5, mixer=None)
cps_semi_test_cfg = dict(predict_on='student')  # network 1 is evaluated
# Hooks: the dataset/protocol config sets them (the warm start is its value):
#   custom_hooks = [dict(type='SemiScheduleHook', warm_start_epochs=...)]  (no EMA teacher)
