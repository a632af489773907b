# SupOnly baseline for u2pl_r101_voc-classic_1464: the same segmentor, schedule and labeled
# batch (4 GPUs x 4), trained on the 1464 labeled images only.
_base_ = '../_base_/suponly_r101_voc_513x513.py'
protocol, split = 'voc-classic', '1464'
num_unlabeled = 10582 - 1464
gpus, unlabeled_per_gpu = 4, 4
max_iters = -(-80 * num_unlabeled // (gpus * unlabeled_per_gpu))  # as the U2PL config
train_dataloader = dict(dataset=dict(dataset=dict(
    ann_file=f'data/splits/{protocol}/{split}/labeled.txt')))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
