# SupOnly on the synthetic data: the same segmentor, labeled pipeline,
# schedule and evaluation as the U2PL config, on the labeled split only.
_base_ = [
    './models/deeplabv3plus_r18-tiny_synthetic.py', './datasets/synthetic_semi.py',
    './synthetic_runtime.py'
]
custom_hooks = []  # no semi-supervised schedule, no teacher
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SplitListDataset',
                 dataset={{_base_.train_dataloader.dataset.labeled}}))
