# SupOnly on VOC: the same segmentor, labeled pipeline, schedule and evaluation
# as the U2PL configs, as plain MMSeg training on the labeled split.
_base_ = [
    './models/deeplabv3plus_r101-d8_513x513_voc.py', './datasets/voc_semi_513x513.py',
    './schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py'
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SplitListDataset',
                 dataset={{_base_.train_dataloader.dataset.labeled}}))
optimizer = dict(lr=0.001, weight_decay=0.0001)
optim_wrapper = dict(optimizer=optimizer)
