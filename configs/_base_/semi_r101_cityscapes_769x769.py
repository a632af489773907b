# The protocol every method shares on Cityscapes: DeepLabV3+ R101, 8 GPUs x (2 + 2), crop 769, 200 epochs
# (U2PL's settings, reference Sec. 2): network, semi-supervised data and batch,
# schedule and warm start, and the hooks of a method with an EMA teacher (0.99,
# as U2PL and its MT / CutMix-Seg re-runs). `model` here is the plain
# segmentor; the method bases `{method}_r101_cityscapes_769x769.py` wrap it.
_base_ = [
    './models/deeplabv3plus_r101-d8_769x769_cityscapes.py', './datasets/cityscapes_semi_769x769.py',
    './schedules/cityscapes_200e.py', 'mmseg::_base_/default_runtime.py'
]
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
