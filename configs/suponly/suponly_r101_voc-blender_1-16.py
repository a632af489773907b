# SupOnly, VOC blender 1-16 (662 labeled images, 4 GPUs x 4): the baseline of the
# semi-supervised voc-blender_1-16 configs, as many iterations
# (80 epochs of the 9920 unlabeled).
_base_ = '../_base_/suponly_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-blender/1-16'))
