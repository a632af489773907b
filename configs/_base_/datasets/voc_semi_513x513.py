# PASCAL VOC 2012 (+ SBD, MMSeg's "aug" layout: SegmentationClassAug), semi-
# supervised: B labeled + B unlabeled 513 x 513 crops per GPU; evaluation on
# the 1449 val images, center-cropped to 513 (padding ignored), as the paper.
# Split lists: data/splits/voc-{classic,blender}/<split>/{labeled,unlabeled}.txt
_base_ = 'mmseg::_base_/datasets/pascal_voc12.py'
dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (513, 513)
protocol = 'voc-classic'
split = '1464'
samples_per_gpu = 4
data_prefix = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegMap', num_classes=21),
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
    dict(type='CheckSegMap', num_classes=21),
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
        labeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=f'data/splits/{protocol}/{split}/labeled.txt',
            pipeline=train_pipeline),
        unlabeled=dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=f'data/splits/{protocol}/{split}/unlabeled.txt',
            pipeline=unlabeled_pipeline)))
val_dataloader = dict(
    dataset=dict(data_prefix=data_prefix, ann_file='ImageSets/Segmentation/val.txt',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
