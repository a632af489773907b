# SupOnly on VOC: the same segmentor, labeled pipeline, schedule and
# evaluation as the semi-supervised configs, as plain MMSeg training on the
# labeled split (4 per GPU, as their labeled batch). Its length is counted in
# epochs of the split's unlabeled list (split_dir), so it trains as many
# iterations as its semi-supervised twins (CPS supplementary, footnote 1).
_base_ = './semi_r101_voc_513x513.py'
custom_hooks = []  # no semi-supervised schedule, no teacher
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SplitListDataset',
                 split_dir={{_base_.train_dataloader.dataset.split_dir}},
                 dataset={{_base_.train_dataloader.dataset.labeled}}))
