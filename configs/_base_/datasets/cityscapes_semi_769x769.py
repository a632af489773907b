# Cityscapes, semi-supervised: B labeled + B unlabeled 769 x 769 crops per GPU.
# Split lists: train_dataloader.dataset.split_dir, a folder with labeled.txt and
# unlabeled.txt (tools/make_semi_splits.py), relative to the working directory.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
dataset_type = 'CityscapesDataset'
data_root = 'data/cityscapes/'
crop_size = (769, 769)
samples_per_gpu = 2  # labeled, and as many unlabeled
# Paper augmentation: random scale [0.5, 2.0], crop, h-flip (same geometry
# for unlabeled images, which carry no labels).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    _delete_=True,
    batch_size=2 * samples_per_gpu,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='SemiSupervisedSampler', labeled_per_batch=samples_per_gpu,
                 unlabeled_per_batch=samples_per_gpu),
    dataset=dict(
        type='SemiSegDataset',
        split_dir='data/splits/cityscapes/1-16',  # {labeled,unlabeled}.txt; leaves set theirs
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=train_pipeline),
        unlabeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
            pipeline=unlabeled_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
