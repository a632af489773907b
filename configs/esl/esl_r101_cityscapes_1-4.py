# ESL, Cityscapes 1-4 (744 labeled / 2231 unlabeled), 8 GPUs x (2 + 2).
_base_ = '../_base_/esl_r101_cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/cityscapes/1-4'))
