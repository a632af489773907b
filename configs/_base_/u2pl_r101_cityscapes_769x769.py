# U2PL on Cityscapes, paper settings (reference Sec. 2): DeepLabV3+ ResNet-101
# V1c, output stride 8, SyncBN, 8 GPUs x (2 labeled + 2 unlabeled), crop 769,
# OHEM + auxiliary head (0.4), SGD lr 0.01 wd 5e-4, decoder 10 x lr, poly 0.9,
# 200 epochs of the unlabeled set, warm start 20 epochs, slide evaluation
# 769 / stride 513 on the full 2048 x 1024 image.
_base_ = [
    './models/deeplabv3plus_r101-d8_769x769_cityscapes.py', './models/u2pl.py',
    './datasets/cityscapes_semi_769x769.py', './schedules/semi_poly.py',
    'mmseg::_base_/default_runtime.py'
]
model = dict(
    _delete_=True,
    type='U2PLSemiSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    # Cityscapes has no background class: 30000 for every queue
    memory_bank=dict(type='ClassQueueMemoryBank', length=30000, background_index=None),
    semi_train_cfg={{_base_.u2pl_semi_train_cfg}},
    semi_test_cfg={{_base_.u2pl_semi_test_cfg}})
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs=20),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
