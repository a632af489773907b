# CamVid benchmark, `gpu` protocol: full 480 x 360 resolution, 360 x 360
# crops, DeepLabV3+ R50-D8 (pass ImageNet weights with
# model.segmentor.pretrained=PATH, see the model file), 8 labeled (+ 8
# unlabeled) per iteration on one GPU, 6000 iterations, SGD lr 0.01 (decoder
# 10 x), poly, validation and a checkpoint every 500 iterations.
_base_ = [
    './models/deeplabv3plus_r50-d8_camvid.py', './datasets/camvid_semi_480x360.py',
    './schedules/camvid_1500it.py', 'mmseg::_base_/default_runtime.py'
]
samples_per_gpu = 8
train_dataloader = dict(
    batch_size=2 * samples_per_gpu, num_workers=8,
    sampler=dict(labeled_per_batch=samples_per_gpu, unlabeled_per_batch=samples_per_gpu))
val_dataloader = dict(num_workers=4)
test_dataloader = val_dataloader
# the schedule of camvid_1500it.py (SGD lr 0.01, poly), 4 x as long
train_cfg = dict(max_iters=6000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
# 321 unlabeled images at 1/8, 8 per iteration: 40 iterations per epoch,
# 150 epochs in all; warm start 10 % of the run
warm_start_epochs = 15
