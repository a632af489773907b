# CutMix-Seg: U2PL's teacher/student and CutMix with neither L_c nor entropy
# filtering (alpha_0 = 0: every pixel gets a pseudo-label).
_base_ = './u2pl.py'
model = dict(contrastive_head=None, memory_bank=None, semi_train_cfg=dict(alpha_0=0.0))
