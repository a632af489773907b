# ESL, VOC classic 1464 (1464 labeled / 9118 unlabeled), 4 GPUs x (4 + 4).
_base_ = '../_base_/esl_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-classic/1464'))
