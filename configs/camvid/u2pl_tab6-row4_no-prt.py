# Tab. 6 row 4: U2PL without the Probability Rank Threshold.
_base_ = './u2pl.py'
model = dict(contrastive_head=dict(use_rank_threshold=False))
