# SupOnly, VOC classic 366 (366 labeled images, 4 GPUs x 4): the baseline of the
# semi-supervised voc-classic_366 configs, as many iterations
# (80 epochs of the 10216 unlabeled).
_base_ = '../_base_/suponly_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-classic/366'))
