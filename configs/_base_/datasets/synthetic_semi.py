# The embedded synthetic dataset (mmseg_u2pl.datasets.synthetic: 6 classes,
# textured shapes on textured noisy backgrounds, 96 x 96), semi-supervised.
# Generate it with `python tools/dataset_converters/synthetic.py data/synthetic`
# (tools/run_demo.py does) and split it with tools/make_semi_splits.py.
dataset_type = 'SyntheticShapesDataset'
data_root = 'data/synthetic'
split = '1-16'
crop_size = (80, 80)
samples_per_gpu = 4
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='RandomResize', scale=(96, 96), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(96, 96), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
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
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=f'data/splits/synthetic/{split}/labeled.txt',
            pipeline=train_pipeline),
        unlabeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=f'data/splits/synthetic/{split}/unlabeled.txt',
            pipeline=unlabeled_pipeline)))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
