# ESL, VOC blender 1-4 (2646 labeled / 7936 unlabeled), 4 GPUs x (4 + 4).
_base_ = '../_base_/esl_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-blender/1-4'))
