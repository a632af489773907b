# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.config import ConfigDict

from mmseg.registry import MODELS
from _tiny import NUM_CLASSES, make_batch, tiny_segmentor_cfg, tiny_u2pl_cfg


def build(**kwargs):
    model = MODELS.build(ConfigDict(tiny_u2pl_cfg(**kwargs)))
    model.init_weights()
    return model


def run_loss(model, batch):
    data = model.data_preprocessor(batch, training=True)
    return model.loss(data['inputs'], data['data_samples'])


def test_training_step_all_terms_finite_and_backprop():
    torch.manual_seed(0)
    cfg = tiny_u2pl_cfg(aux=True)
    cfg['contrastive_head']['positive_threshold'] = 0.0  # anchors even at random init
    model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    model.train()
    losses = run_loss(model, make_batch())
    assert float(losses['contrast_classes']) > 0
    for key in ('decode.loss_ce', 'aux.loss_ce', 'loss_unsup', 'loss_contrast'):
        assert key in losses and torch.isfinite(losses[key]), key
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    head = model.student.contrastive_head
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    # the first step pushed teacher negatives into the bank
    assert int(model.memory_bank.count.sum()) > 0


def test_alpha_controls_reliable_ratio():
    torch.manual_seed(0)
    model = build(semi_train_cfg=dict(alpha_0=0.5))
    model.train()
    losses = run_loss(model, make_batch())
    assert abs(float(losses['reliable_ratio']) - 0.5) < 0.02
    model = build(semi_train_cfg=dict(alpha_0=0.0))
    model.train()
    losses = run_loss(model, make_batch())
    assert float(losses['reliable_ratio']) == 1.0


def test_alpha_t_follows_the_published_schedule():
    """Eq. 7: alpha_t = alpha_0 (1 - t / T) with t the integer epoch of the
    schedule that SemiScheduleHook publishes; without DPA alpha_0."""
    from mmseg_u2pl.utils import SemiSchedule, publish_semi_schedule
    model = build()
    fixed = build(semi_train_cfg=dict(dynamic_partition=False))
    assert model.alpha_t == 0.2  # no schedule published (outside a run)
    for it in range(0, 250, 7):
        publish_semi_schedule(SemiSchedule(iteration=it, iters_per_epoch=25,
                                           total_epochs=10, semi_start_iter=0))
        assert model.alpha_t == pytest.approx(0.2 * (1 - (it // 25) / 10))
        assert fixed.alpha_t == 0.2
        losses = run_loss(model, make_batch()) if it in (0, 245) else None
        if losses is not None:
            assert float(losses['alpha_t']) == pytest.approx(model.alpha_t)


def test_bad_alpha_0_is_refused_when_built():
    with pytest.raises(ValueError, match=r'semi_train_cfg\.alpha_0.*1\.2'):
        build(semi_train_cfg=dict(alpha_0=1.2))


def test_warm_start_is_supervised_only():
    torch.manual_seed(0)
    from mmseg_u2pl.utils import SemiSchedule, publish_semi_schedule
    model = build()
    model.train()
    publish_semi_schedule(SemiSchedule(iteration=0, semi_start_iter=1))  # warm start
    losses = run_loss(model, make_batch())
    assert 'loss_unsup' not in losses
    assert float(losses['loss_contrast']) == 0.0
    sup = MODELS.build(tiny_segmentor_cfg())
    sup.load_state_dict({k[len('student.'):]: v for k, v in model.state_dict().items()
                         if k.startswith('student.') and 'contrastive_head' not in k})
    sup.train()
    torch.manual_seed(1)
    data = model.data_preprocessor(make_batch(), training=True)
    lab = [i for i, d in enumerate(data['data_samples']) if 'gt_sem_seg' in d]
    torch.manual_seed(1)
    ref = sup.loss(data['inputs'][lab], [data['data_samples'][i] for i in lab])
    torch.manual_seed(1)
    got = model.loss(data['inputs'], data['data_samples'])
    assert torch.allclose(got['decode.loss_ce'], ref['decode.loss_ce'], atol=1e-6)


def test_no_contrastive_head_is_cutmix_seg():
    model = build(contrastive_head=None, memory_bank=None)
    model.train()
    losses = run_loss(model, make_batch())
    assert 'loss_contrast' not in losses and torch.isfinite(losses['loss_unsup'])
    assert not hasattr(model.student, 'contrastive_head')


def test_all_labels_ignored_is_finite():
    model = build()
    model.train()
    losses = run_loss(model, make_batch(label_fn=lambda g: torch.full_like(g, 255)))
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k


def test_label_out_of_range_names_the_file():
    model = build()
    model.train()

    def bad(gt):
        gt[0, 0, 0] = NUM_CLASSES + 3
        return gt
    with pytest.raises(ValueError, match=r'label_0\.png.*7'):
        run_loss(model, make_batch(label_fn=bad))
    # only the second labeled image is bad: the batch check finds it and names its file
    batch = make_batch()
    batch['data_samples'][1].gt_sem_seg.data[0, 3, 4] = NUM_CLASSES
    with pytest.raises(ValueError, match=r'label_1\.png has values \[4\]'):
        run_loss(model, batch)
    run_loss(model, make_batch())  # every label in range: no error


def test_predict_runs_teacher_by_default_and_student_on_request():
    model = build()
    model.eval()
    with torch.no_grad():
        for p in model.teacher.decode_head.conv_seg.parameters():
            p.zero_()
    batch = make_batch(num_labeled=1, num_unlabeled=0)
    data = model.data_preprocessor(batch, training=False)
    with torch.no_grad():
        out_t = model.predict(data['inputs'], data['data_samples'])
        logits_t = out_t[0].seg_logits.data
        assert torch.all(logits_t == 0)  # the zeroed teacher classifier
        model.semi_test_cfg['predict_on'] = 'student'
        logits_s = model.predict(data['inputs'], copy.deepcopy(batch['data_samples']))
        assert not torch.all(logits_s[0].seg_logits.data == 0)


def test_plain_mmseg_checkpoint_loads_into_both():
    model = build()
    plain = MODELS.build(tiny_segmentor_cfg())
    plain.init_weights()
    state = plain.state_dict()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected
    assert all('contrastive_head' in k or 'memory_bank' in k for k in missing)
    for k, v in state.items():
        assert torch.equal(model.student.state_dict()[k], v)
        assert torch.equal(model.teacher.state_dict()[k], v)


def test_any_decode_head_gets_a_representation_head():
    """The representation head attaches to the classifier input of any head."""
    seg = tiny_segmentor_cfg()
    seg['decode_head'] = dict(type='FCNHead', in_channels=64, in_index=3, channels=12,
                              num_convs=1, num_classes=NUM_CLASSES,
                              norm_cfg=dict(type='BN', requires_grad=True))
    model = build(segmentor=seg)
    assert model.student.contrastive_head.in_channels == 12
    model.train()
    losses = run_loss(model, make_batch())
    assert torch.isfinite(losses['loss_contrast'])


def test_unknown_semi_train_cfg_key_is_refused():
    with pytest.raises(KeyError, match='alpha0'):
        MODELS.build(tiny_u2pl_cfg(semi_train_cfg=dict(alpha0=0.1)))


def test_padding_is_not_pseudo_labeled():
    """An unlabeled image smaller than the crop is padded by the preprocessor;
    the padded pixels are invalid (ignored), the real ones valid."""
    from mmseg_u2pl.models.segmentors import SemiBaseSegmentor
    model = build(semi_train_cfg=dict(mixer=None))  # CutMix needs 2 unlabeled images
    batch = make_batch(num_labeled=1, num_unlabeled=1)
    batch['inputs'][1] = batch['inputs'][1][:, :20, :28]
    batch['data_samples'][1].set_metainfo(dict(img_shape=(20, 28)))
    data = model.data_preprocessor(batch, training=True)
    assert data['inputs'].shape[-2:] == (32, 32)
    valid = SemiBaseSegmentor.valid_mask(data['data_samples'], (32, 32), torch.device('cpu'))
    assert valid[0].all()
    assert valid[1, :20, :28].all() and not valid[1, 20:].any() and not valid[1, :, 28:].any()
    model.train()
    losses = model.loss(data['inputs'], data['data_samples'])
    # alpha_t = 0.2 of the 560 real pixels are unreliable; padding is not counted
    assert float(losses['reliable_ratio']) == pytest.approx(0.8, abs=0.01)
    assert float(losses['unsup_weight']) == pytest.approx(1 / 0.8, abs=0.02)


def test_mmpretrain_backbone_drops_in():
    """Any OpenMMLab backbone: here mmpretrain's ResNet, by its scoped name."""
    seg = tiny_segmentor_cfg()
    seg['backbone'] = dict(type='mmpretrain.ResNet', depth=18, stem_channels=8,
                           base_channels=8, out_indices=(0, 1, 2, 3), strides=(1, 2, 1, 1),
                           dilations=(1, 1, 2, 4))
    model = build(segmentor=seg)
    assert type(model.student.backbone).__module__.startswith('mmpretrain')
    model.train()
    losses = run_loss(model, make_batch())
    assert all(torch.isfinite(v).all() for v in losses.values())


def test_plain_checkpoint_file_loads_through_mmengine(tmp_path):
    """`load_from` / tools/test.py path: mmengine.runner.load_checkpoint with a
    plain MMSeg checkpoint file, under torch's weights_only loading."""
    from mmengine.runner import load_checkpoint
    plain = MODELS.build(tiny_segmentor_cfg())
    plain.init_weights()
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=plain.state_dict(), meta=dict(epoch=1)), path)
    model = build()
    load_checkpoint(model, str(path), map_location='cpu')
    for k, v in plain.state_dict().items():
        assert torch.equal(model.student.state_dict()[k], v), k
        assert torch.equal(model.teacher.state_dict()[k], v), k


def test_more_labeled_than_unlabeled_images():
    """3 labeled + 1 unlabeled per GPU: the labeled rows of the unreliable
    mask have the labeled count, not min(B_l, B_u)."""
    torch.manual_seed(0)
    model = build(semi_train_cfg=dict(mixer=None))
    model.train()
    model.student.contrastive_head.positive_threshold = 0.0  # anchors at random init
    losses = run_loss(model, make_batch(num_labeled=3, num_unlabeled=1))
    assert float(losses['contrast_classes']) > 0
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k


def _one_padded_unlabeled_batch():
    """1 labeled + 2 unlabeled images; the second unlabeled one is 20 x 28,
    padded to 32 x 32 by the preprocessor."""
    batch = make_batch(num_labeled=1, num_unlabeled=2)
    batch['inputs'][2] = batch['inputs'][2][:, :20, :28]
    batch['data_samples'][2].set_metainfo(dict(img_shape=(20, 28)))
    return batch


@pytest.mark.parametrize('negatives_from', ['all', 'reliable', 'unreliable'])
def test_padding_never_becomes_a_negative(negatives_from):
    """Tab. 6 'all' means all *real* unlabeled pixels: with r_l = 1, r_h = 3
    and C = 4 every real unlabeled pixel is a negative of two classes, and no
    padded pixel is pushed into the bank."""
    torch.manual_seed(0)
    cfg = tiny_u2pl_cfg(semi_train_cfg=dict(mixer=None))
    cfg['contrastive_head']['negatives_from'] = negatives_from
    model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    model.train()
    head = model.student.contrastive_head
    pushed = []
    select = head._select_push

    def spy(neg_mask):
        pix, cls = select(neg_mask)
        pushed.append(pix.clone())
        return pix, cls

    head._select_push = spy
    data = model.data_preprocessor(_one_padded_unlabeled_batch(), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert torch.isfinite(losses['loss_contrast'])
    (pix, ) = pushed
    h = w = 8  # feature resolution of the tiny model (stride 4)
    b, y, x = pix // (h * w), pix // w % h, pix % w
    padded = (b == 2) & ((y >= 5) | (x >= 7))  # 20 / 4 = 5 rows, 28 / 4 = 7 columns
    assert not padded.any()
    if negatives_from == 'all':
        real = int(((b == 1) | ((b == 2) & (y < 5) & (x < 7))).sum())
        assert real == 2 * (64 + 35)  # two classes (ranks 1, 2) per real pixel


def test_cutmix_with_one_unlabeled_image_is_refused_in_the_step():
    model = build()
    model.train()
    with pytest.raises(ValueError, match=r'mixer\.prob=1\.0.*unlabeled_per_batch'):
        run_loss(model, make_batch(num_labeled=2, num_unlabeled=1))
    model = build(semi_train_cfg=dict(mixer=None))
    model.train()
    losses = run_loss(model, make_batch(num_labeled=2, num_unlabeled=1))
    assert torch.isfinite(losses['loss_unsup'])


def test_cutmix_with_one_unlabeled_image_is_refused_before_training():
    """SemiScheduleHook.before_train asks the model about the sampler's
    unlabeled_per_batch: the run stops before iteration 0."""
    from types import SimpleNamespace

    from mmseg_u2pl.engine.hooks import SemiScheduleHook

    def runner(model, unlabeled):
        sampler = SimpleNamespace(labeled_per_batch=2, unlabeled_per_batch=unlabeled)
        loader = SimpleNamespace(sampler=sampler, batch_size=2 + unlabeled,
                                 dataset=SimpleNamespace(num_unlabeled=10))
        return SimpleNamespace(model=model, train_dataloader=loader, max_iters=20, iter=0,
                               logger=SimpleNamespace(info=lambda *a: None))

    model = build(semi_train_cfg=dict(mixer=dict(type='CutMix', prob=0.5)))
    with pytest.raises(ValueError, match=r'mixer\.prob=0\.5.*unlabeled_per_batch'):
        SemiScheduleHook().before_train(runner(model, 1))
    SemiScheduleHook().before_train(runner(model, 2))
    SemiScheduleHook().before_train(runner(build(semi_train_cfg=dict(mixer=None)), 1))


def test_a_data_preprocessor_that_differs_from_the_segmentors_is_refused():
    """MMEngine's Runner gives a wrapper without data_preprocessor the config's
    top-level one; if only the segmentor's was changed (e.g. its crop size),
    batches would be padded to the wrong size: refused when built."""
    seg = tiny_segmentor_cfg()
    other = dict(seg['data_preprocessor'], size=(16, 16))
    with pytest.raises(ValueError, match=r"model\.data_preprocessor.*'size': \(16, 16\).*"
                                         r'top-level `data_preprocessor`'):
        build(data_preprocessor=other)
    build(data_preprocessor=dict(seg['data_preprocessor']))  # the same dict is fine
