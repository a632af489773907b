# Tab. 6 row 2: L_c without queue, DPA, PRT and high-entropy negatives:
# in-batch negatives from every pixel, fixed alpha_t = alpha_0, negatives by
# probability threshold instead of rank.
_base_ = './u2pl.py'
model = dict(memory_bank=None,
             contrastive_head=dict(use_rank_threshold=False, negatives_from='all'))
custom_hooks = [
    dict(type='EntropyPartitionHook', warm_start_epochs={{_base_.warm_start_epochs}},
         dynamic=False),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
