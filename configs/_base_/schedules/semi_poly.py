# SGD + poly LR (power 0.9) over an iteration-based loop; the decoder (and the
# auxiliary and representation heads) get 10 x the backbone learning rate.
# The loop (SemiIterBasedTrainLoop) takes its length as max_iters or as
# max_epochs of the unlabeled set (counted from the loader: no config restates
# a split's size); the poly schedule ends with the loop (MMEngine's default
# `end` is the loop's max_iters), so a config sets the length once.
# Every config of this package inherits this file; it registers the package's
# models, datasets, transforms and hooks (used below and by the other bases).
custom_imports = dict(imports=['mmseg_u2pl'], allow_failed_imports=False)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys=dict(
        decode_head=dict(lr_mult=10.0),
        auxiliary_head=dict(lr_mult=10.0),
        contrastive_head=dict(lr_mult=10.0))))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, by_epoch=False)]
train_cfg = dict(type='SemiIterBasedTrainLoop', val_interval=4000)  # + max_iters or max_epochs
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # mmseg_u2pl: safe checkpoint loading under torch >= 2.6, exact resume,
    # stop (or skip) on NaN/inf losses, a num_classes check of every decode
    # head against the dataset, and the data preprocessor's padding size taken
    # from the training pipeline's RandomCrop (the one place of the crop size)
    safe_checkpoint=dict(type='SafeCheckpointHook'),
    random_state=dict(type='RandomStateHook'),
    nonfinite_loss=dict(type='NonFiniteLossHook', on_nonfinite='error'),
    num_class_check=dict(type='NumClassCheckHook'),
    crop_size_check=dict(type='CropSizeHook'),
    # what the method makes of the unlabeled images (image, teacher prediction,
    # entropy, kept pseudo-labels, reliable / unreliable) every `interval`
    # iterations, through the visualizer's backends:
    # --cfg-options default_hooks.semi_visualization.enable=True
    semi_visualization=dict(type='SemiVisualizationHook', interval=500, num_images=2,
                            enable=False))
