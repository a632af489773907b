# SupOnly on Cityscapes: the same segmentor, labeled pipeline, schedule and
# evaluation as the U2PL configs, as plain MMSeg training on the labeled split.
_base_ = [
    './models/deeplabv3plus_r101-d8_769x769_cityscapes.py',
    './datasets/cityscapes_semi_769x769.py', './schedules/semi_poly.py',
    'mmseg::_base_/default_runtime.py'
]
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SplitListDataset',
                 dataset={{_base_.train_dataloader.dataset.labeled}}))
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
