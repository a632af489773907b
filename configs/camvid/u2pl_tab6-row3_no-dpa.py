# Tab. 6 row 3: U2PL without Dynamic Partition Adjustment (alpha_t = alpha_0).
_base_ = './u2pl.py'
model = dict(semi_train_cfg=dict(dynamic_partition=False))
