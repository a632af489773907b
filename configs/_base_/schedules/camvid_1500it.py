# Schedule of the CamVid `cpu` and `pretrained` protocols: 1500 iterations, SGD
# lr 0.01 (decoder 10 x, semi_poly.py), poly; validation and a checkpoint every
# 250 iterations (tools/benchmark/semi_protocol.py resumes a killed run from
# the last one).
_base_ = './semi_poly.py'
max_iters = 1500
interval = 250
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
train_cfg = dict(max_iters=max_iters, val_interval=interval)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=interval, max_keep_ckpts=1, save_last=True))
randomness = dict(seed=0)
# U2PL's schedule knobs in epochs of the unlabeled set (321 images at 1/8,
# 4 per iteration: 80 iterations per epoch, 18.7 epochs in all): warm start
# for 10 % of the run, as the paper's 20 of 200 Cityscapes epochs
warm_start_epochs = 2
