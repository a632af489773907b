# SupOnly, CamVid (protocol: CAMVID_PROTOCOL, default pretrained): the segmentor trained on the labeled split only,
# with the same schedule, augmentation, labeled batch and seed as the others.
_base_ = '../_base_/camvid_{{$CAMVID_PROTOCOL:pretrained}}.py'
train_dataloader = dict(
    _delete_=True,
    batch_size={{_base_.samples_per_gpu}},
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SplitListDataset',
                 dataset={{_base_.train_dataloader.dataset.labeled}}))
