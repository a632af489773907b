# PASCAL VOC 2012 (+ SBD, MMSeg's "aug" layout: SegmentationClassAug), semi-
# supervised: B labeled + B unlabeled 513 x 513 crops per GPU; evaluation on
# the 1449 val images, center-cropped to 513 (padding ignored), as the paper.
# Split lists: train_dataloader.dataset.split_dir, a folder with labeled.txt and
# unlabeled.txt: data/splits/voc-{classic,blender}/<split> (tools/make_semi_splits.py)
_base_ = 'mmseg::_base_/datasets/pascal_voc12.py'
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (513, 513)
samples_per_gpu = 4
data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap'),  # num_classes: the dataset's (NumClassCheckHook)
    dict(type='CenterCrop', crop_size=crop_size, auto_pad=True,
         pad_cfg=dict(type='Pad', pad_val=dict(img=0, seg=255))),
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
        split_dir='data/splits/voc-classic/1464',  # {labeled,unlabeled}.txt; leaves set theirs
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=train_pipeline),
        unlabeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=unlabeled_pipeline)))
val_dataloader = dict(
    dataset=dict(data_prefix=data_prefix, ann_file='ImageSets/Segmentation/val.txt',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
