# DARS rounds, Cityscapes 1-8 (372 labeled / 2603 pseudo-labeled), 8 GPUs x (2 + 2)
# (tools/dars_rounds.py; round 0: configs/suponly/suponly_r101_cityscapes_1-8.py).
_base_ = '../_base_/dars_r101_cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/cityscapes/1-8'))
