# DARS rounds, Cityscapes 1-4 (744 labeled / 2231 pseudo-labeled), 8 GPUs x (2 + 2)
# (tools/dars_rounds.py; round 0: configs/suponly/suponly_r101_cityscapes_1-4.py).
_base_ = '../_base_/dars_r101_cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/cityscapes/1-4'))
