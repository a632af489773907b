# U2PL, CamVid (protocol: CAMVID_PROTOCOL, default pretrained): paper hyper-parameters (configs/_base_/models/u2pl.py);
# CamVid has no background class, so every queue holds 30000 negatives.
_base_ = ['../_base_/camvid_{{$CAMVID_PROTOCOL:pretrained}}.py', '../_base_/models/u2pl.py']
model = dict(
    _delete_=True,
    type='U2PLSemiSegmentor',
    segmentor={{_base_.model}},
    contrastive_head={{_base_.u2pl_contrastive_head}},
    memory_bank=dict(type='ClassQueueMemoryBank', length=30000, background_index=None),
    semi_train_cfg={{_base_.u2pl_semi_train_cfg}},
    semi_test_cfg={{_base_.u2pl_semi_test_cfg}})
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
