# DARS rounds, VOC blender 1-2 (5291 labeled / 5291 pseudo-labeled), 4 GPUs x (4 + 4)
# (tools/dars_rounds.py; round 0: configs/suponly/suponly_r101_voc-blender_1-2.py).
_base_ = '../_base_/dars_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-blender/1-2'))
