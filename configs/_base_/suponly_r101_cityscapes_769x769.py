# SupOnly on Cityscapes: the U2PL config's segmentor, labeled pipeline,
# schedule and evaluation, as a plain MMSeg EncoderDecoder on the labeled split.
_base_ = './u2pl_r101_cityscapes_769x769.py'
model = {{_base_.model.segmentor}}
custom_hooks = []
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset={{_base_.train_dataloader.dataset.labeled}})
