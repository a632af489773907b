# U2PL, Cityscapes 1-4 (744 labeled / 2231 unlabeled), 8 GPUs x (2 + 2).
_base_ = '../_base_/u2pl_r101_cityscapes_769x769.py'
split = '1-4'
num_unlabeled = 2975 - 744
gpus, unlabeled_per_gpu = 8, 2
max_iters = -(-200 * num_unlabeled // (gpus * unlabeled_per_gpu))  # 200 epochs of the unlabeled set
train_dataloader = dict(dataset=dict(
    labeled=dict(ann_file=f'data/splits/cityscapes/{split}/labeled.txt'),
    unlabeled=dict(ann_file=f'data/splits/cityscapes/{split}/unlabeled.txt')))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
