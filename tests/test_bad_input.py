# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Rows of the bad-input table in README.md not covered by test_semi_data.py
and test_u2pl_segmentor.py: each gives a correct result or an error naming
the file, key or value."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict

from mmseg.registry import DATASETS, HOOKS, MODELS, TRANSFORMS
from mmseg_u2pl.engine import NumClassCheckHook
from _tiny import make_batch, tiny_segmentor_cfg, tiny_u2pl_cfg
from test_semi_data import semi_cfg, write_list, write_tree

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]


@pytest.fixture
def tree(tmp_path):
    stems = write_tree(tmp_path / 'data')
    lab = write_list(tmp_path / 'splits/labeled.txt', stems[:2])
    unl = write_list(tmp_path / 'splits/unlabeled.txt', stems[2:])
    return tmp_path, lab, unl


def build_semi(tmp, lab, unl, labeled_pipeline):
    cfg = semi_cfg(tmp / 'data', lab, unl)
    cfg['labeled']['pipeline'] = labeled_pipeline
    cfg['unlabeled']['pipeline'] = [dict(type='LoadImageFromFile')]
    return DATASETS.build(cfg)


def plain_dataset(tmp, pipeline):
    """A plain MMSeg dataset over the whole tree, as val/test sets are."""
    return DATASETS.build(dict(type='BaseSegDataset', data_root=str(tmp / 'data'),
                               img_suffix='.png', seg_map_suffix='.png',
                               data_prefix=dict(img_path='img_dir/train',
                                                seg_map_path='ann_dir/train'),
                               metainfo=dict(classes=('a', 'b')), pipeline=pipeline,
                               test_mode=True))


def test_label_size_differs_from_image_names_both_files(tree):
    tmp, lab, unl = tree
    cv2.imwrite(str(tmp / 'data/ann_dir/train/001.png'), np.zeros((16, 20), np.uint8))
    ds = build_semi(tmp, lab, unl, LOAD + [dict(type='CheckSegMap', num_classes=2)])
    ds[0]  # a good sample passes
    with pytest.raises(RuntimeError, match=r'001\.png is \(16, 20\).*img_dir/train/001\.png '
                       r'is \(16, 16\)'):
        ds[1]
    # a test pipeline resizes the image before loading the label: compared as loaded
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(8, 8)),
                     dict(type='LoadAnnotations'), dict(type='CheckSegMap', num_classes=2)]
    val = plain_dataset(tmp, test_pipeline)
    good = val[0]
    assert good['img'].shape[:2] == (8, 8) and good['gt_seg_map'].shape == (16, 16)
    with pytest.raises(ValueError, match=r'001\.png is \(16, 20\)'):
        val[1]


def test_label_value_out_of_range_names_file_and_value(tree):
    tmp, lab, unl = tree
    label = np.zeros((16, 16), np.uint8)
    label[3, 4] = 7
    label[0] = 255  # the ignore index is allowed
    cv2.imwrite(str(tmp / 'data/ann_dir/train/000.png'), label)
    ds = build_semi(tmp, lab, unl, LOAD + [dict(type='CheckSegMap', num_classes=2)])
    with pytest.raises(RuntimeError, match=r'ann_dir/train/000\.png has values \[7\]'):
        ds[0]
    ds[1]
    check = TRANSFORMS.build(dict(type='CheckSegMap', num_classes=8))
    results = dict(img=np.zeros((16, 16, 3), np.uint8), gt_seg_map=label)
    assert check(results) is results  # 7 < 8: fine


def test_unreadable_image_names_the_file(tree):
    tmp, lab, unl = tree
    (tmp / 'data/img_dir/train/003.png').write_bytes(b'not a png at all')
    ds = build_semi(tmp, lab, unl, LOAD)
    with pytest.raises(RuntimeError, match=r'unlabeled split .*img_dir/train/003\.png'):
        ds[3]  # index 3 = the second unlabeled image, 003
    # a plain MMSeg dataset (val/test) fails in mmcv, also naming the file
    val = plain_dataset(tmp, LOAD)
    with pytest.raises(AssertionError, match=r'img_dir/train/003\.png'):
        val[3]


def test_unreadable_label_names_the_file(tree):
    tmp, lab, unl = tree
    (tmp / 'data/ann_dir/train/001.png').write_bytes(b'garbage')
    ds = build_semi(tmp, lab, unl, LOAD)
    with pytest.raises(RuntimeError, match=r'labeled split .*label .*ann_dir/train/001\.png'):
        ds[1]


def fake_runner(model, classes, loader_key='train_dataloader'):
    dataset = SimpleNamespace(metainfo=dict(classes=classes))
    runner = SimpleNamespace(model=model)
    setattr(runner, loader_key, SimpleNamespace(dataset=dataset))
    return runner


def test_num_classes_mismatch_is_refused():
    hook = HOOKS.build(dict(type='NumClassCheckHook'))
    model = MODELS.build(ConfigDict(tiny_u2pl_cfg()))  # 4 classes, student and teacher
    hook.before_train(fake_runner(model, ('a', 'b', 'c', 'd')))  # matches
    with pytest.raises(ValueError, match=r'model\.student\.decode_head\.num_classes=4 but '
                       r'train_dataloader\.dataset .* has 5 classes'):
        hook.before_train(fake_runner(model, ('a', 'b', 'c', 'd', 'e')))
    with pytest.raises(ValueError, match=r'val_dataloader\.dataset .* has 3 classes'):
        hook.before_val(fake_runner(model, ('a', 'b', 'c'), 'val_dataloader'))
    # auxiliary heads are checked too
    seg = MODELS.build(ConfigDict(tiny_segmentor_cfg(aux=True)))
    seg.auxiliary_head.num_classes = 3
    with pytest.raises(ValueError, match=r'model\.auxiliary_head\.num_classes=3'):
        NumClassCheckHook.check(fake_runner(seg, ('a', 'b', 'c', 'd')),
                                SimpleNamespace(metainfo=dict(classes=('a', 'b', 'c', 'd'))),
                                'test_dataloader.dataset')


@pytest.mark.parametrize('registry,cfg', [
    (MODELS, dict(type='U2PLSemiSegmentr')),
    (HOOKS, dict(type='EntropyPartitonHook')),
    (DATASETS, dict(type='SemiSegDatset')),
])
def test_unregistered_type_is_named(registry, cfg):
    with pytest.raises(KeyError, match=cfg['type']):
        registry.build(cfg)


def test_unimportable_custom_import_is_named(tmp_path):
    from mmengine.utils import import_modules_from_strings
    cfg = tmp_path / 'cfg.py'
    cfg.write_text("custom_imports = dict(imports=['mmseg_u2pl', 'mmseg_u2pll'])\n")
    with pytest.raises(ImportError, match='mmseg_u2pll'):
        import_modules_from_strings(**Config.fromfile(str(cfg))['custom_imports'])


def run_loss(model, batch):
    data = model.data_preprocessor(batch, training=True)
    return model.loss(data['inputs'], data['data_samples'])


@pytest.mark.parametrize('label_fn', [
    lambda g: torch.zeros_like(g),  # a single class in the whole batch
    lambda g: torch.full_like(g, 255),  # every pixel ignored
])
def test_degenerate_batches_on_an_empty_bank_give_finite_losses(label_fn):
    model = MODELS.build(ConfigDict(tiny_u2pl_cfg()))
    model.init_weights()
    model.train()
    assert int(model.memory_bank.count.sum()) == 0  # the first step: empty bank
    for seed in range(2):
        losses = run_loss(model, make_batch(label_fn=label_fn, seed=seed))
        for k, v in losses.items():
            assert torch.isfinite(v).all(), k
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        grads = [p.grad for p in model.student.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        model.zero_grad()


def test_memory_bank_drops_nonfinite_features():
    bank = MODELS.build(dict(type='ClassQueueMemoryBank', num_classes=3, dim=2, length=4))
    feats = torch.tensor([[1., 2.], [float('nan'), 0.], [3., float('inf')], [4., 5.]])
    bank.push(feats, torch.tensor([0, 0, 1, 1]))
    assert bank.get(0).tolist() == [[1., 2.]]
    assert bank.get(1).tolist() == [[4., 5.]]


def _semi_with_crops(tmp, lab, unl, labeled_crop, unlabeled_crop):
    cfg = semi_cfg(tmp / 'data', lab, unl)
    cfg['labeled']['pipeline'] = LOAD + [dict(type='RandomCrop', crop_size=labeled_crop)]
    cfg['unlabeled']['pipeline'] = [dict(type='LoadImageFromFile'),
                                    dict(type='RandomCrop', crop_size=unlabeled_crop)]
    return cfg


def test_the_training_crop_is_read_from_the_pipeline(tree):
    """The data preprocessor's padding size comes from the training
    pipeline's RandomCrop (the one place of the crop size): filled when the
    config gives none, refused naming both values when it differs; labeled
    and unlabeled pipelines that crop differently are refused."""
    from mmseg_u2pl.engine import train_crop_size
    tmp, lab, unl = tree
    cfg = _semi_with_crops(tmp, lab, unl, (12, 10), (12, 10))
    assert train_crop_size(dict(train_dataloader=dict(dataset=cfg))) == (12, 10)
    assert train_crop_size(dict(train_dataloader=dict(
        dataset=_semi_with_crops(tmp, lab, unl, 12, 12)))) == (12, 12)
    assert train_crop_size(dict(train_dataloader=dict(dataset=semi_cfg(
        tmp / 'data', lab, unl)))) is None
    # the wrapper's, student's and teacher's preprocessors, none with a size
    model_cfg = tiny_u2pl_cfg()
    model_cfg['segmentor']['data_preprocessor'].pop('size')
    model = MODELS.build(ConfigDict(model_cfg))
    pre = [m for m in model.modules() if type(m).__name__ == 'SegDataPreProcessor']
    assert len(pre) >= 2 and all(m.size is None for m in pre)
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(
        dataset=DATASETS.build(cfg)))
    HOOKS.build(dict(type='CropSizeHook')).before_train(runner)
    assert all(tuple(m.size) == (12, 10) for m in pre)
    # a training batch of smaller images is padded to the crop
    batch = make_batch(num_labeled=1, num_unlabeled=1, size=8)
    assert model.data_preprocessor(batch, training=True)['inputs'].shape[-2:] == (12, 10)
    # a second copy that disagrees with the pipeline
    model.data_preprocessor.size = (16, 16)
    with pytest.raises(ValueError, match=r'model\.data_preprocessor\.size=\(16, 16\) but the '
                       r'training pipeline crops to \(12, 10\)'):
        HOOKS.build(dict(type='CropSizeHook')).before_train(runner)
    # labeled and unlabeled crops of different sizes cannot share a batch
    runner.train_dataloader.dataset = DATASETS.build(
        _semi_with_crops(tmp, lab, unl, (12, 10), (8, 8)))
    with pytest.raises(ValueError, match=r'crop to different sizes \(crop_size=\(12, 10\) in '
                       r'.*labeled\.txt.*crop_size=\(8, 8\) in .*unlabeled\.txt'):
        HOOKS.build(dict(type='CropSizeHook')).before_train(runner)
    with pytest.raises(ValueError, match=r'crop_size=\(12, 10\) in train_dataloader\.dataset'
                       r'\.labeled\.pipeline'):
        train_crop_size(dict(train_dataloader=dict(
            dataset=_semi_with_crops(tmp, lab, unl, (12, 10), (8, 8)))))


def test_label_checks_take_the_dataset_class_count(tree):
    """CheckSegMap(num_classes=None) gets the dataset's class count from
    NumClassCheckHook (so a custom dataset's out-of-range labels are caught);
    a stale count is refused naming the dataset key."""
    tmp, lab, unl = tree
    label = np.zeros((16, 16), np.uint8)
    label[3, 4] = 2  # the dataset has classes ('a', 'b'): 2 is out of range
    cv2.imwrite(str(tmp / 'data/ann_dir/train/000.png'), label)
    ds = build_semi(tmp, lab, unl, LOAD + [dict(type='CheckSegMap')])
    ds[0]  # unfilled: only the shape is checked
    model = MODELS.build(ConfigDict(tiny_segmentor_cfg(num_classes=2)))
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=ds))
    HOOKS.build(dict(type='NumClassCheckHook')).before_train(runner)
    check = [t for t in ds.datasets[0].pipeline.transforms if type(t).__name__ == 'CheckSegMap']
    assert check[0].num_classes == 2
    with pytest.raises(RuntimeError, match=r'ann_dir/train/000\.png has values \[2\]'):
        ds[0]
    stale = build_semi(tmp, lab, unl, LOAD + [dict(type='CheckSegMap', num_classes=19)])
    runner.train_dataloader.dataset = stale
    with pytest.raises(ValueError, match=r'train_dataloader.dataset .* has 2 classes but its '
                       r'pipeline checks labels with CheckSegMap\(num_classes=19\)'):
        HOOKS.build(dict(type='NumClassCheckHook')).before_train(runner)
