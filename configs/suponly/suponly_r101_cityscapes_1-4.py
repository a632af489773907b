# SupOnly, Cityscapes 1-4 (744 labeled images, 8 GPUs x 2): the baseline of the
# semi-supervised cityscapes_1-4 configs, as many iterations
# (200 epochs of the 2231 unlabeled).
_base_ = '../_base_/suponly_r101_cityscapes_769x769.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/cityscapes/1-4'))
