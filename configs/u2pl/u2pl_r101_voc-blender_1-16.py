# U2PL, VOC blender 1-16 (662 labeled / 9920 unlabeled), 4 GPUs x (4 + 4).
_base_ = '../_base_/u2pl_r101_voc_513x513.py'
protocol, split = 'voc-blender', '1-16'
num_unlabeled = 10582 - 662
gpus, unlabeled_per_gpu = 4, 4
max_iters = -(-80 * num_unlabeled // (gpus * unlabeled_per_gpu))  # 80 epochs of the unlabeled set
train_dataloader = dict(dataset=dict(
    labeled=dict(ann_file=f'data/splits/{protocol}/{split}/labeled.txt'),
    unlabeled=dict(ann_file=f'data/splits/{protocol}/{split}/unlabeled.txt')))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
