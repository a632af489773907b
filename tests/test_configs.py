# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py')))
# configs/camvid/* take their protocol from CAMVID_PROTOCOL: tests/test_camvid.py
CONFIGS = [c for c in CONFIGS if '/_base_/' not in c and '/camvid/' not in c]


def test_expected_configs_exist():
    names = {osp.relpath(c, osp.join(ROOT, 'configs')) for c in CONFIGS}
    expected = {f'u2pl/u2pl_r101_cityscapes_{s}.py' for s in ('1-16', '1-8', '1-4', '1-2')}
    expected |= {f'u2pl/u2pl_r101_voc-classic_{n}.py' for n in (92, 183, 366, 732, 1464)}
    expected |= {f'u2pl/u2pl_r101_voc-blender_{s}.py' for s in ('1-16', '1-8', '1-4', '1-2')}
    expected |= {e.replace('u2pl/u2pl_', 'suponly/suponly_') for e in expected}
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    # as MMEngine's Runner builds it (top-level data_preprocessor as the default)
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
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
    assert {'random_state', 'nonfinite_loss', 'num_class_check'} <= set(cfg.default_hooks)
    assert 'mmseg_u2pl' in cfg.custom_imports.imports
    pipelines = [cfg.val_dataloader.dataset.pipeline]
    train_set = cfg.train_dataloader.dataset
    pipelines.append(train_set.get('labeled', train_set.get('dataset', {})).get('pipeline'))
    for pipeline in pipelines:
        types = [t['type'] for t in pipeline]
        i = types.index('LoadAnnotations')
        assert types[i + 1] == 'CheckSegMap'
        assert pipeline[i + 1]['num_classes'] == seg.decode_head.num_classes
    if name.startswith('u2pl_'):
        assert type(model).__name__ == 'U2PLSemiSegmentor'
        loader = cfg.train_dataloader
        assert loader.batch_size == (loader.sampler.labeled_per_batch +
                                     loader.sampler.unlabeled_per_batch)
        # what SemiScheduleHook asks before training (e.g. CutMix needs >= 2)
        model.check_semi_batch(loader.sampler.unlabeled_per_batch)
        split = name.split('_')[-1][:-3]
        assert f'/{split}/labeled.txt' in loader.dataset.labeled.ann_file
        hooks = {h['type'] for h in cfg.custom_hooks}
        assert {'SemiScheduleHook', 'MeanTeacherHook'} <= hooks
        head = model.student.contrastive_head
        if 'r101' in name:
            assert (head.num_anchors, head.num_negatives, head.temperature,
                    head.positive_threshold, head.low_rank, head.high_rank,
                    head.loss_weight) == (50, 256, 0.5, 0.3, 3, 20, 0.1)
            assert model.semi_train_cfg['alpha_0'] == 0.2
    if name.startswith('suponly_'):
        twin = Config.fromfile(path.replace('suponly', 'u2pl'))
        assert cfg.train_cfg.max_iters == twin.train_cfg.max_iters
        assert cfg.train_dataloader.batch_size == twin.train_dataloader.sampler.labeled_per_batch
        assert cfg.optim_wrapper == twin.optim_wrapper


def test_paper_schedules():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/u2pl/u2pl_r101_cityscapes_1-16.py'))
    # 200 epochs of the 2789 unlabeled images at 8 GPUs x 2
    assert cfg.train_cfg.max_iters == -(-200 * 2789 // 16)
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.0005
    assert cfg.custom_hooks[0].warm_start_epochs == 20
    cfg = Config.fromfile(osp.join(ROOT, 'configs/u2pl/u2pl_r101_voc-classic_92.py'))
    assert cfg.train_cfg.max_iters == -(-80 * (10582 - 92) // 16)
    assert cfg.optim_wrapper.optimizer.lr == 0.001
    assert cfg.custom_hooks[0].warm_start_epochs == 1
