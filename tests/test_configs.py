# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg.registry import MODELS
from mmseg_u2pl.engine import train_crop_size

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py')))
# configs/camvid/* take their protocol from CAMVID_PROTOCOL: tests/test_camvid.py
CONFIGS = [c for c in CONFIGS if '/_base_/' not in c and '/camvid/' not in c]


def test_expected_configs_exist():
    names = {osp.relpath(c, osp.join(ROOT, 'configs')) for c in CONFIGS}
    expected = {f'u2pl/u2pl_r101_cityscapes_{s}.py' for s in ('1-16', '1-8', '1-4', '1-2')}
    expected |= {f'u2pl/u2pl_r101_voc-classic_{n}.py' for n in (92, 183, 366, 732, 1464)}
    expected |= {f'u2pl/u2pl_r101_voc-blender_{s}.py' for s in ('1-16', '1-8', '1-4', '1-2')}
    for folder, method in (('suponly', 'suponly'), ('mean_teacher', 'mean-teacher'),
                           ('cutmix_seg', 'cutmix-seg'), ('cps', 'cps'), ('ael', 'ael'),
                           ('u2pl_ael', 'u2pl-ael'), ('esl', 'esl'), ('dars', 'dars')):
        expected |= {e.replace('u2pl/u2pl_', f'{folder}/{method}_')
                     for e in expected if e.startswith('u2pl/')}
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    # as MMEngine's Runner builds it (top-level data_preprocessor as the default)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # built on the meta device: every constructor runs, no weights are
    # allocated or initialised (R101 networks, 2-3 per method: ~5x faster)
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    seg = model.student if hasattr(model, 'student') else model
    name = osp.basename(path)
    if 'r101' in name:
        assert seg.backbone.depth == 101 and seg.backbone.deep_stem
        assert cfg.model.get('segmentor', cfg.model).get('pretrained') == \
            'open-mmlab://resnet101_v1c'
        assert any(type(m).__name__ == 'SyncBatchNorm' for m in seg.backbone.modules())
        assert seg.backbone.strides == (1, 2, 1, 1) and seg.backbone.dilations == (1, 1, 2, 4)
    if 'efficientnet-lite0' in name:
        # the ImageNet encoder, loaded all or nothing, with its own normalisation
        assert seg.backbone.init_cfg['type'] == 'CheckedPretrained'
        pre = cfg.model.get('segmentor', cfg.model).data_preprocessor
        assert (pre.mean, pre.std, pre.bgr_to_rgb) == ([127.0] * 3, [128.0] * 3, True)
    if 'cityscapes' in name:
        assert seg.decode_head.num_classes == 19 and seg.with_auxiliary_head
        assert type(seg.decode_head.sampler).__name__ == 'OHEMPixelSampler'
        assert seg.test_cfg.mode == 'slide' and tuple(seg.test_cfg.stride) == (513, 513)
    if 'voc' in name:
        assert seg.decode_head.num_classes == 21 and not seg.with_auxiliary_head
    # the robustness hooks, the package import, and label checks in every pipeline
    assert {'random_state', 'nonfinite_loss', 'num_class_check',
            'crop_size_check'} <= set(cfg.default_hooks)
    # the crop size is stated once, in the training pipeline (CropSizeHook pads to it)
    crop = train_crop_size(cfg)
    assert crop is not None
    assert cfg.model.get('segmentor', cfg.model).data_preprocessor.get('size') in (None, crop)
    assert 'mmseg_u2pl' in cfg.custom_imports.imports
    pipelines = [cfg.val_dataloader.dataset.pipeline]
    train_set = cfg.train_dataloader.dataset
    pipelines.append(train_set.get('labeled', train_set.get('dataset', {})).get('pipeline'))
    for pipeline in pipelines:
        types = [t['type'] for t in pipeline]
        i = types.index('LoadAnnotations')
        assert types[i + 1] == 'CheckSegMap'
        # the class count comes from the dataset (NumClassCheckHook fills it)
        assert pipeline[i + 1].get('num_classes') in (None, seg.decode_head.num_classes)
    if name.startswith('u2pl_'):
        assert type(model).__name__ == 'U2PLSemiSegmentor'
        loader = cfg.train_dataloader
        assert loader.batch_size == (loader.sampler.labeled_per_batch +
                                     loader.sampler.unlabeled_per_batch)
        # what SemiScheduleHook asks before training (e.g. CutMix needs >= 2)
        model.check_semi_batch(loader.sampler.unlabeled_per_batch)
        hooks = {h['type'] for h in cfg.custom_hooks}
        assert {'SemiScheduleHook', 'MeanTeacherHook'} <= hooks
        head = model.student.contrastive_head
        if 'r101' in name:
            assert (head.num_anchors, head.num_negatives, head.temperature,
                    head.positive_threshold, head.low_rank, head.high_rank,
                    head.loss_weight) == (50, 256, 0.5, 0.3, 3, 20, 0.1)
            assert model.semi_train_cfg['alpha_0'] == 0.2
    if 'r101' in name:
        # the split is named once, by the leaf, as a folder of the split lists
        split = name.split('_')[-1][:-3]
        dataset_name = name.split('_')[2]
        assert cfg.train_dataloader.dataset.split_dir == f'data/splits/{dataset_name}/{split}'
        assert 'ann_file' not in cfg.train_dataloader.dataset.get('labeled', {})
        # the length in epochs of the unlabeled set, counted by the loop
        assert cfg.train_cfg.type == 'SemiIterBasedTrainLoop' and 'max_iters' not in cfg.train_cfg
        assert cfg.train_cfg.max_epochs == (200 if 'cityscapes' in name else 80)
        assert all('end' not in s for s in cfg.param_scheduler)
        semi = {h['type']: h for h in cfg.get('custom_hooks', [])}
        if not name.startswith(('suponly_', 'dars_')):
            assert semi['SemiScheduleHook']['warm_start_epochs'] == (
                20 if 'cityscapes' in name else 1)
            assert ('MeanTeacherHook' in semi) == (not name.startswith('cps_'))
            loader = cfg.train_dataloader
            model.check_semi_batch(loader.sampler.unlabeled_per_batch)
    if name.startswith('suponly_'):
        twin = Config.fromfile(path.replace('suponly', 'u2pl'))
        assert cfg.train_cfg == twin.train_cfg
        assert cfg.train_dataloader.dataset.get('split_dir') == \
            twin.train_dataloader.dataset.get('split_dir')
        assert cfg.train_dataloader.batch_size == twin.train_dataloader.sampler.labeled_per_batch
        assert cfg.optim_wrapper == twin.optim_wrapper
    for method, segmentor in (('mean-teacher_', 'MeanTeacherSegmentor'),
                              ('cutmix-seg_', 'CutMixSegSegmentor'), ('cps_', 'CPSSegmentor'),
                              ('ael_', 'AELSegmentor'), ('u2pl-ael_', 'U2PLAELSegmentor'),
                              ('esl_', 'ESLSegmentor')):
        if name.startswith(method):
            assert type(model).__name__ == segmentor
            if 'r101' in name:
                # the same network, data and schedule as U2PL's config of the split
                twin = Config.fromfile(path.replace(method.rstrip('_'), 'u2pl').replace(
                    f'/{method.rstrip("_").replace("-", "_")}/', '/u2pl/'))
                assert cfg.model.segmentor == twin.model.segmentor
                assert cfg.train_dataloader == twin.train_dataloader
                assert (cfg.train_cfg, cfg.optim_wrapper) == (twin.train_cfg, twin.optim_wrapper)
    if name.startswith(('ael_', 'u2pl-ael_')) and 'r101' in name:
        # AEL's VOC values: confidence threshold 0.7, components of >= 3 % of the crop
        voc = 'voc' in name
        assert model.semi_train_cfg['confidence_threshold'] == (0.7 if voc else None)
        assert model.mixer.min_component_area == (0.03 if voc else 0.005)
        assert model.confidence_bank.momentum == 0.999
        if name.startswith('u2pl-ael_'):
            twin = Config.fromfile(path.replace('u2pl-ael', 'u2pl').replace('/u2pl_ael/',
                                                                              '/u2pl/'))
            assert cfg.model.contrastive_head == twin.model.contrastive_head
            assert cfg.model.memory_bank == twin.model.memory_bank
    if name.startswith('dars_'):
        # a plain segmentor on labeled + pseudo-labeled images, labels checked in both
        assert type(model).__name__ == 'EncoderDecoder' and not cfg.get('custom_hooks')
        types = [t['type'] for t in cfg.train_dataloader.dataset.unlabeled.pipeline]
        assert types[1:3] == ['LoadAnnotations', 'CheckSegMap']
        assert [r['alpha'] for r in cfg.dars.rounds] == [0.2, 0.5]
        if 'r101' in name:
            twin = Config.fromfile(path.replace('dars', 'u2pl'))
            assert Config.fromfile(path).model == twin.model.segmentor
            assert (cfg.train_cfg, cfg.optim_wrapper) == (twin.train_cfg, twin.optim_wrapper)
    if name.startswith('esl_') and 'r101' in name:
        # ESL's published values (supplementary Tab. 3, methods reference)
        cfg_t = model.semi_train_cfg
        assert (cfg_t['unsup_weight'], cfg_t['contrast_weight'], cfg_t['soft_label_threshold'],
                cfg_t['num_negatives'], cfg_t['temperature']) == (0.2, 0.1, 0.95, 255, 0.5)
        assert (model.num_parts, model.part_prototypes.momentum) == (5, 0.99)
        assert model.student.projector[0].conv.out_channels == 512
    if name.startswith('cps_') and 'r101' in name:
        # lambda with CutMix: 5 (Cityscapes), 1 (VOC); 3 boxes of area U(0.25, 0.5)
        assert model.semi_train_cfg['cps_weight'] == (5.0 if 'cityscapes' in name else 1.0)
        assert cfg.model.semi_train_cfg.mixer == dict(type='CutMix', prob=1.0,
                                                      area=(0.25, 0.5), num_boxes=3)


def test_paper_schedules():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/u2pl/u2pl_r101_cityscapes_1-16.py'))
    # 200 epochs of the unlabeled set (the loop counts the iterations from the loader:
    # tests/test_semi_loop.py)
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0005
    assert cfg.custom_hooks[0].warm_start_epochs == 20
    cfg = Config.fromfile(osp.join(ROOT, 'configs/u2pl/u2pl_r101_voc-classic_92.py'))
    assert cfg.train_cfg.max_epochs == 80
    assert cfg.optim_wrapper.optimizer.lr == 0.001
    assert cfg.custom_hooks[0].warm_start_epochs == 1
