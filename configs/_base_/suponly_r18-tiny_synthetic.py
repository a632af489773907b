# SupOnly on the synthetic data: the U2PL config's segmentor, labeled
# pipeline, schedule and evaluation, on the labeled split only.
_base_ = './u2pl_r18-tiny_synthetic.py'
model = {{_base_.model.segmentor}}
custom_hooks = []
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.train_dataloader.dataset.labeled}})
