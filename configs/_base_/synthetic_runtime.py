_base_ = ['./schedules/semi_poly.py', 'mmseg::_base_/default_runtime.py']
# Schedule, runtime and hooks shared by the synthetic (CPU) configs: warm start
# 1 epoch, EMA teacher 0.99 (SupOnly: no hooks; CPS: no teacher).
max_iters = 800
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
custom_hooks = [
    dict(type='SemiScheduleHook', warm_start_epochs=1),
    dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True, bn_buffers='ema'),
]
