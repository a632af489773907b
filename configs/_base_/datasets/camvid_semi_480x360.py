# CamVid (11 classes, 480 x 360), semi-supervised, at full resolution (the
# `gpu` benchmark protocol). Lay the data out with
# `python tools/dataset_converters/camvid.py` (data/camvid, "Unlabelled" -> 255)
# and pick a split/seed with split_dir (the benchmark tool sets the ann_files).
# Augmentation as the paper's: random scale [0.5, 2.0], crop, h-flip.
dataset_type = 'CamVidDataset'
data_root = 'data/camvid'
split_dir = 'data/splits/camvid/1-8/seed0'
img_scale = (480, 360)
crop_size = (360, 360)
samples_per_gpu = 4
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
# the image is resized to the training scale; mIoU is on the original labels
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='PackSegInputs')
]
data_prefix = dict(img_path='img_dir/train', seg_map_path='ann_dir/train')
train_dataloader = dict(
    batch_size=2 * samples_per_gpu,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler', labeled_per_batch=samples_per_gpu,
                 unlabeled_per_batch=samples_per_gpu),
    dataset=dict(
        type='SemiSegDataset',
        labeled=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
                     ann_file=f'{split_dir}/labeled.txt', pipeline=train_pipeline),
        unlabeled=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
                       ann_file=f'{split_dir}/unlabeled.txt', pipeline=unlabeled_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
