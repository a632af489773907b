# Tab. 6 row 2: L_c without queue, DPA, PRT and high-entropy negatives:
# in-batch negatives from every pixel, fixed alpha_t = alpha_0, negatives by
# probability threshold instead of rank.
_base_ = './u2pl.py'
model = dict(semi_train_cfg=dict(dynamic_partition=False),
             memory_bank=None,
             contrastive_head=dict(use_rank_threshold=False, negatives_from='all'))
