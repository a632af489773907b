# DARS rounds, VOC classic 1464 (1464 labeled / 9118 pseudo-labeled), 4 GPUs x (4 + 4)
# (tools/dars_rounds.py; round 0: configs/suponly/suponly_r101_voc-classic_1464.py).
_base_ = '../_base_/dars_r101_voc_513x513.py'
train_dataloader = dict(dataset=dict(split_dir='data/splits/voc-classic/1464'))
