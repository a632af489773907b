# ESL, Cityscapes 1-16 (186 labeled / 2789 unlabeled), 8 GPUs x (2 + 2).
_base_ = '../_base_/esl_r101_cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/cityscapes/1-16'))
