# Tab. 6 row 3: U2PL without Dynamic Partition Adjustment (alpha_t = alpha_0).
_base_ = './u2pl.py'
custom_hooks = [
    dict(type='EntropyPartitionHook', warm_start_epochs={{_base_.warm_start_epochs}},
         dynamic=False),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
