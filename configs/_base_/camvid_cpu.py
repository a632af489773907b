# CamVid benchmark, `cpu` protocol (tools/benchmark/semi_protocol.py): one U2PL
# run of one split and seed in about 30 minutes on 2 CPU cores. 240 x 180
# images, 160 x 160 crops, DeepLabV3+ on a half-width ResNet-18 from scratch,
# 4 labeled (+ 4 unlabeled) images per iteration, 1500 iterations, SGD lr 0.01
# (decoder 10 x), poly; validation and a checkpoint every 250 iterations
# (the tool resumes a killed run from the last one). Every method uses this
# file unchanged; `model` here is the plain segmentor.
_base_ = [
    './models/deeplabv3plus_r18-w32_camvid.py', './datasets/camvid_semi_240x180.py',
    './schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py'
]
max_iters = 1500
interval = 250
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=interval)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=interval, max_keep_ckpts=1, save_last=True))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# U2PL's schedule knobs in epochs of the unlabeled set (321 images at 1/8,
# 4 per iteration: 80 iterations per epoch, 18.7 epochs in all): warm start
# for 10 % of the run, as the paper's 20 of 200 Cityscapes epochs
warm_start_epochs = 2
