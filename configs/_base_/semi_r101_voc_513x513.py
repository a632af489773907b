# The protocol every method shares on PASCAL VOC 2012: DeepLabV3+ R101, 4 GPUs x (4 + 4), crop 513, 80 epochs
# (U2PL's settings, reference Sec. 2): network, semi-supervised data and batch,
# schedule and warm start, and the hooks of a method with an EMA teacher (0.99,
# as U2PL and its MT / CutMix-Seg re-runs). `model` here is the plain
# segmentor; the method bases `{method}_r101_voc_513x513.py` wrap it.
_base_ = [
    './models/deeplabv3plus_r101-d8_513x513_voc.py', './datasets/voc_semi_513x513.py',
    './schedules/voc_80e.py', 'mmseg::_base_/default_runtime.py'
]
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
