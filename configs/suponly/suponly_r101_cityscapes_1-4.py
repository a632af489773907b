# SupOnly baseline for u2pl_r101_cityscapes_1-4: the same segmentor, schedule and
# labeled batch (8 GPUs x 2), trained on the 744 labeled images only.
_base_ = '../_base_/suponly_r101_cityscapes_769x769.py'
split = '1-4'
num_unlabeled = 2975 - 744
gpus, unlabeled_per_gpu = 8, 2
max_iters = -(-200 * num_unlabeled // (gpus * unlabeled_per_gpu))  # as the U2PL config
train_dataloader = dict(dataset=dict(dataset=dict(
    ann_file=f'data/splits/cityscapes/{split}/labeled.txt')))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
