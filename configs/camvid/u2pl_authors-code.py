# U2PL as the authors' public code behaves (docs: u2pl-reference.md Sec. 3;
# README "Paper vs the authors' code"): the contrastive head's one switch
# (batch-axis one-hot, no labeled negatives, unlabeled negatives need
# pseudo-label = c, z_c^+ without delta_p, L_c over the classes present, 256
# anchors x 50 negatives with replacement) and the teacher reset to the student
# during the first semi-supervised epoch. lambda_c stays 0.1 (the authors' 1.0
# divided by the world size of their published runs).
_base_ = './u2pl.py'
model = dict(contrastive_head=dict(reference='authors_code'))
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs={{_base_.warm_start_epochs}}),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema',
         reset_first_epoch=True),
]
