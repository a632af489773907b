# U2PL with the binary contrastive loss L_b (supplementary Sec. D) instead of L_c.
_base_ = './u2pl.py'
model = dict(contrastive_head=dict(loss_type='binary'))
