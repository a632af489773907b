# CamVid at half resolution (240 x 180) with 160 x 160 crops: the `cpu`
# benchmark protocol. Same augmentation as camvid_semi_480x360.py.
_base_ = './camvid_semi_480x360.py'
img_scale = (240, 180)
crop_size = (160, 160)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(labeled=dict(pipeline=train_pipeline),
                                     unlabeled=dict(pipeline=unlabeled_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
