# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Every user-facing hyper-parameter is checked when the model (or hook) is
built, with an error that names the config key and the value given."""
import pytest

from mmseg.registry import HOOKS, MODELS, TASK_UTILS
from _tiny import tiny_segmentor_cfg, tiny_u2pl_cfg


def u2pl(head=None, bank=None, **train_cfg):
    cfg = tiny_u2pl_cfg(semi_train_cfg=train_cfg)
    cfg['contrastive_head'].update(head or {})
    cfg['memory_bank'].update(bank or {})
    return cfg


def method(type_, **train_cfg):
    return dict(type=type_, segmentor=tiny_segmentor_cfg(), semi_train_cfg=train_cfg)


CASES = [
    # U2PL (Tab. A1)
    (u2pl(alpha_0=1.0), r'semi_train_cfg.alpha_0 .*got 1.0'),
    (u2pl(alpha_0=-0.1), r'semi_train_cfg.alpha_0 .*got -0.1'),
    (u2pl(dynamic_partition='yes'), r"semi_train_cfg.dynamic_partition .*'yes'"),
    (u2pl(unsup_weight=-1), r'semi_train_cfg.unsup_weight .*got -1'),
    (u2pl(head=dict(temperature=0)), r'contrastive_head.temperature \(tau\) .*got 0'),
    (u2pl(head=dict(positive_threshold=1.5)), r'contrastive_head.positive_threshold .*1.5'),
    (u2pl(head=dict(low_rank=3, high_rank=2)), r'low_rank=3, high_rank=2'),
    (u2pl(head=dict(low_rank=4, high_rank=5)), r'contrastive_head.low_rank r_l=4 >= '
                                               r'num_classes=4.*e.g. low_rank=1'),
    (u2pl(head=dict(num_anchors=0)), r'contrastive_head.num_anchors .*got 0'),
    (u2pl(head=dict(num_negatives=0)), r'contrastive_head.num_negatives .*got 0'),
    (u2pl(head=dict(loss_weight=-0.1)), r'contrastive_head.loss_weight \(lambda_c\) .*-0.1'),
    (u2pl(head=dict(max_push_per_class=0)), r'contrastive_head.max_push_per_class .*got 0'),
    (u2pl(bank=dict(length=0)), r'memory bank lengths'),
    (u2pl(mixer=dict(type='CutMix', area=1.0)), r'CutMix area .*got 1.0'),
    (u2pl(mixer=dict(type='CutMix', prob=2.0)), r'prob'),
    (u2pl(lambda_u=1.0), r"unknown key.*\['lambda_u'\]"),
    # Mean Teacher, CutMix-Seg, CPS, AEL, ESL
    (method('MeanTeacherSegmentor', consistency='kl'), r"consistency .*'kl'"),
    (method('CutMixSegSegmentor', mixer=dict(type='CutMix', area=(0.6, 0.2), num_boxes=3)),
     r'area range'),
    (method('CPSSegmentor', cps_weight=-1), r'cps_weight'),
    (method('AELSegmentor', confidence_momentum=1.0), r'momentum .*got 1.0'),
    (method('AELSegmentor', reweight_gamma=-2), r'reweight_gamma .*-2'),
    (method('ESLSegmentor', anchor_ratio=0), r'anchor_ratio .*got 0'),
    (method('ESLSegmentor', num_negatives=0), r'num_negatives .*got 0'),
    (method('ESLSegmentor', contrast_weight=-1), r'contrast_weight .*-1'),
    (dict(method('MeanTeacherSegmentor'), pretrained='x.pth'),
     r'model.pretrained .*must be None.*model.segmentor.pretrained'),
]


@pytest.mark.parametrize('cfg,match', CASES, ids=[m for _, m in CASES])
def test_bad_value_refused_when_built(cfg, match):
    with pytest.raises((ValueError, KeyError), match=match):
        MODELS.build(cfg)


@pytest.mark.parametrize('kwargs,match', [
    (dict(decay=1.0), r'decay must be in \[0, 1\), got 1.0'),
    (dict(interval=0), r'interval must be >= 1, got 0'),
    (dict(bn_buffers='mean'), r"bn_buffers .*'mean'"),
])
def test_ema_hook_values_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HOOKS.build(dict(type='MeanTeacherHook', **kwargs))


def test_schedule_and_mixers_refused():
    with pytest.raises(ValueError, match=r'warm_start_epochs must be >= 0, got -1'):
        HOOKS.build(dict(type='SemiScheduleHook', warm_start_epochs=-1))
    with pytest.raises(ValueError, match=r'scale_range'):
        TASK_UTILS.build(dict(type='AdaptiveCopyPaste', scale_range=(2.0, 1.0)))
