# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Mean Teacher, CutMix-Seg and the shared pieces of the template segmentor,
against slow, independent references."""
import copy
import math

import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

from mmseg.registry import MODELS, TASK_UTILS
from mmseg_u2pl.models.losses import cross_pseudo_ce, pseudo_label_ce, softmax_mse
from mmseg_u2pl.models.utils import CutMix, multi_box_masks
from _tiny import NUM_CLASSES, make_batch, tiny_segmentor_cfg, tiny_u2pl_cfg


def np_log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


# ---------------------------------------------------------------- pure losses
def slow_ce(logits, labels, ignore=255):
    total, n = 0.0, 0
    B, C, H, W = logits.shape
    for b in range(B):
        for y in range(H):
            for x in range(W):
                t = int(labels[b, y, x])
                if t == ignore:
                    continue
                total -= np_log_softmax(logits[b, :, y, x].double().numpy())[t]
                n += 1
    return total / max(n, 1)


def test_pseudo_label_ce_is_the_mean_over_labelled_pixels():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 6, 7, generator=g)
    labels = torch.randint(0, 5, (2, 6, 7), generator=g)
    labels[0, :3] = 255
    assert float(pseudo_label_ce(logits, labels)) == pytest.approx(slow_ce(logits, labels),
                                                                   rel=1e-5)
    # nothing labelled: exactly 0
    assert float(pseudo_label_ce(logits, torch.full_like(labels, 255))) == 0.0


def test_softmax_mse_against_a_loop():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 5, 3, generator=g, requires_grad=True)
    target = torch.rand(2, 4, 5, 3, generator=g).softmax(1)
    valid = torch.rand(2, 5, 3, generator=g) > 0.3
    total, n = 0.0, 0
    for b in range(2):
        for y in range(5):
            for x in range(3):
                if not valid[b, y, x]:
                    continue
                e = np.exp(logits[b, :, y, x].detach().double().numpy())
                p = e / e.sum()
                total += ((p - target[b, :, y, x].double().numpy()) ** 2).sum()
                n += 4
    loss = softmax_mse(logits, target, valid)
    assert float(loss) == pytest.approx(total / n, rel=1e-5)
    loss.backward()
    assert logits.grad[~valid.unsqueeze(1).expand_as(logits)].abs().max() == 0
    assert float(softmax_mse(logits, target)) == pytest.approx(
        float(((logits.softmax(1) - target) ** 2).mean()), rel=1e-6)


def test_cross_pseudo_ce_against_a_loop_and_no_gradient_through_the_argmax():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(2, 4, 3, 5, generator=g, requires_grad=True)
    b = torch.randn(2, 4, 3, 5, generator=g, requires_grad=True)
    valid = torch.ones(2, 3, 5, dtype=torch.bool)
    valid[1, :, 3:] = False
    ya = a.detach().argmax(1).masked_fill(~valid, 255)
    yb = b.detach().argmax(1).masked_fill(~valid, 255)
    expected = slow_ce(a.detach(), yb) + slow_ce(b.detach(), ya)
    loss = cross_pseudo_ce(a, b, valid)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    # d/da = softmax(a) - onehot(argmax b) on valid pixels / n: the argmax of
    # a (target of b) contributes nothing to a's gradient
    n = int(valid.sum())
    onehot = torch.nn.functional.one_hot(b.detach().argmax(1), 4).permute(0, 3, 1, 2)
    ref = (a.detach().softmax(1) - onehot) * valid.unsqueeze(1) / n
    assert torch.allclose(a.grad, ref, atol=1e-6)


# ---------------------------------------------------------------- mixers
def test_multi_box_masks_follow_the_box_rule():
    """Each box has area a / n (a ~ U(lo, hi)) up to rounding, inside the
    image; with one box the mixed area is the box."""
    torch.manual_seed(0)
    H, W = 64, 96
    fracs = []
    for _ in range(200):
        m = multi_box_masks(1, H, W, (0.25, 0.5), num_boxes=1)[0]
        ys, xs = m.nonzero(as_tuple=True)
        h, w = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        assert int(m.sum()) == h * w  # one rectangle
        fracs.append(h * w / (H * W))
    fracs = np.array(fracs)
    assert fracs.min() > 0.2 and fracs.max() < 0.56
    assert 0.33 < fracs.mean() < 0.42  # mean of U(0.25, 0.5) = 0.375
    # three boxes: mixed area <= a (overlaps), and > 0
    areas = [float(multi_box_masks(1, H, W, (0.25, 0.5), num_boxes=3).float().mean())
             for _ in range(100)]
    assert max(areas) <= 0.52 and min(areas) > 0.05
    assert not multi_box_masks(4, H, W, (0.25, 0.5), 3, prob=0.0).any()


def test_cutmix_one_box_is_the_u2pl_mask_and_bad_values_are_refused():
    from mmseg_u2pl.models.utils import cutmix_masks
    torch.manual_seed(3)
    a = CutMix(prob=1.0, area=0.5).masks(4, 32, 40)
    torch.manual_seed(3)
    assert torch.equal(a, cutmix_masks(4, 32, 40, 0.5, 1.0))
    mixer = TASK_UTILS.build(dict(type='CutMix', area=(0.25, 0.5), num_boxes=3))
    assert mixer.masks(2, 16, 16).shape == (2, 16, 16)
    with pytest.raises(ValueError, match='area range'):
        CutMix(area=0.3, num_boxes=3)
    with pytest.raises(ValueError, match='area'):
        CutMix(area=(0.6, 0.2))
    with pytest.raises(ValueError, match='prob'):
        CutMix(prob=1.5)
    with pytest.raises(ValueError, match=r'semi_train_cfg\.mixer\.prob=1\.0'):
        CutMix().check_batch(1, key='semi_train_cfg.mixer')
    CutMix(prob=0.0).check_batch(1)


# ---------------------------------------------------------------- segmentors
def build(cfg):
    model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    return model


def mt_cfg(method='MeanTeacherSegmentor', **train_cfg):
    return dict(type=method, segmentor=tiny_segmentor_cfg(), semi_train_cfg=train_cfg)


@pytest.mark.parametrize('consistency', ['ce', 'mse'])
def test_mean_teacher_step_against_a_direct_computation(consistency):
    """L = L_s + w * L_cons with the teacher's argmax (CE) or probabilities
    (MSE) on the same unlabeled images; student in eval mode (deterministic)."""
    torch.manual_seed(0)
    model = build(mt_cfg(unsup_weight=0.7, consistency=consistency))
    with torch.no_grad():  # a teacher different from the student
        for p in model.teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.eval()
    data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=2), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    x_u = data['inputs'][2:]
    with torch.no_grad():
        p_t = model.teacher.encode_decode(x_u, [d.metainfo for d in data['data_samples'][2:]]).softmax(1)
    s_logits = model.student.encode_decode(x_u, [d.metainfo for d in data['data_samples'][2:]])
    if consistency == 'ce':
        expected = slow_ce(s_logits.detach(), p_t.argmax(1))
    else:
        expected = float(((s_logits.softmax(1) - p_t) ** 2).mean())
    assert float(losses['loss_unsup']) == pytest.approx(0.7 * expected, rel=1e-4)
    sup = model.student.loss(data['inputs'][:2], data['data_samples'][:2])
    assert float(losses['decode.loss_ce']) == pytest.approx(float(sup['decode.loss_ce']),
                                                           rel=1e-5)


def test_cutmix_seg_equals_u2pl_without_its_additions():
    """CutMix-Seg = U2PL with neither L_c nor the entropy filter (alpha_0 = 0):
    the same losses and gradients from the same seed."""
    torch.manual_seed(0)
    cms = build(mt_cfg('CutMixSegSegmentor'))
    u2pl = build(tiny_u2pl_cfg(contrastive_head=None, memory_bank=None,
                               semi_train_cfg=dict(alpha_0=0.0)))
    u2pl.load_state_dict(cms.state_dict())
    out = []
    for model in (cms, u2pl):
        model.train()
        torch.manual_seed(5)
        data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=3),
                                       training=True)
        losses = model.loss(data['inputs'], data['data_samples'])
        total = losses['decode.loss_ce'] + losses['loss_unsup']
        total.backward()
        out.append((losses, [p.grad.clone() for p in model.student.parameters()]))
    (l_a, g_a), (l_b, g_b) = out
    for key in ('decode.loss_ce', 'loss_unsup'):
        assert float(l_a[key]) == pytest.approx(float(l_b[key]), rel=1e-6)
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(g_a, g_b))


def test_cutmix_seg_mixes_images_and_teacher_predictions_with_the_same_boxes():
    torch.manual_seed(0)
    model = build(mt_cfg('CutMixSegSegmentor'))
    from mmseg_u2pl.models.segmentors import SemiStep
    data = model.data_preprocessor(make_batch(num_labeled=1, num_unlabeled=3), training=True)
    x, ds = data['inputs'], data['data_samples']
    step = SemiStep(x[:1], ds[:1], x[1:], ds[1:], extra={})
    model.teacher_predict(step)
    before_x, before_p = step.x_u.clone(), step.probs_u.clone()
    torch.manual_seed(9)
    model.mix(step)
    torch.manual_seed(9)
    boxes = CutMix().masks(3, 32, 32)
    for i in range(3):
        j = (i + 1) % 3
        m = boxes[i]
        assert m.any() and (~m).any()
        assert torch.equal(step.x_u[i][:, m], before_x[j][:, m])
        assert torch.equal(step.x_u[i][:, ~m], before_x[i][:, ~m])
        assert torch.equal(step.probs_u[i][:, m], before_p[j][:, m])


def test_method_knobs_are_checked_when_built():
    with pytest.raises(KeyError, match=r"MeanTeacherSegmentor semi_train_cfg.*\['alpha_0'\]"):
        build(mt_cfg(alpha_0=0.2))
    with pytest.raises(ValueError, match=r"consistency.*'kl'"):
        build(mt_cfg(consistency='kl'))
    with pytest.raises(ValueError, match=r'unsup_weight.*-1'):
        build(mt_cfg(unsup_weight=-1))
    with pytest.raises(ValueError, match='area'):
        build(mt_cfg('CutMixSegSegmentor', mixer=dict(type='CutMix', area=1.5)))


# ---------------------------------------------------------------- CPS
def cps_cfg(**train_cfg):
    return dict(type='CPSSegmentor', segmentor=tiny_segmentor_cfg(), semi_train_cfg=train_cfg)


def test_cps_networks_are_both_trained_with_different_decode_heads():
    torch.manual_seed(0)
    model = build(cps_cfg())
    assert not hasattr(model, 'teacher')
    assert all(p.requires_grad for p in model.peer.parameters())
    w1 = model.student.decode_head.conv_seg.weight
    w2 = model.peer.decode_head.conv_seg.weight
    assert not torch.equal(w1, w2)
    assert model.semi_test_cfg['predict_on'] == 'student'
    with pytest.raises(ValueError, match="'student' or 'peer'.*'teacher'"):
        build(dict(cps_cfg(), semi_test_cfg=dict(predict_on='teacher')))


def test_cps_without_cutmix_against_a_direct_computation():
    """lambda * [CE(P1, argmax P2) + CE(P2, argmax P1)] over the labeled and
    unlabeled images, plus both networks' L_s (eval mode: deterministic)."""
    torch.manual_seed(0)
    model = build(cps_cfg(cps_weight=1.5))
    model.eval()
    data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=2), training=True)
    x, ds = data['inputs'], data['data_samples']
    losses = model.loss(x, ds)
    metas = [d.metainfo for d in ds]
    with torch.no_grad():
        l1 = model.student.encode_decode(x, metas)
        l2 = model.peer.encode_decode(x, metas)
    expected = slow_ce(l1, l2.argmax(1)) + slow_ce(l2, l1.argmax(1))
    assert float(losses['loss_cps']) == pytest.approx(1.5 * expected, rel=1e-4)
    for name, net in (('decode.loss_ce', model.student), ('peer.decode.loss_ce', model.peer)):
        sup = net.loss(x[:2], ds[:2])
        assert float(losses[name]) == pytest.approx(float(sup['decode.loss_ce']), rel=1e-5)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for net in (model.student, model.peer):
        assert net.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_cps_with_cutmix_learns_the_mixed_pseudo_labels_of_the_other_network():
    torch.manual_seed(0)
    mixer = dict(type='CutMix', prob=1.0, area=(0.25, 0.5), num_boxes=3)
    model = build(cps_cfg(cps_weight=1.0, mixer=mixer))
    model.eval()
    data = model.data_preprocessor(make_batch(num_labeled=1, num_unlabeled=3), training=True)
    x, ds = data['inputs'], data['data_samples']
    torch.manual_seed(4)
    losses = model.loss(x, ds)
    torch.manual_seed(4)
    boxes = CutMix(area=(0.25, 0.5), num_boxes=3).masks(3, 32, 32)
    metas = [d.metainfo for d in ds]
    x_u = x[1:]
    partner = x_u.roll(-1, 0)
    mixed = torch.where(boxes[:, None], partner, x_u)
    with torch.no_grad():
        p1 = model.student.encode_decode(x_u, metas[1:]).argmax(1)
        p2 = model.peer.encode_decode(x_u, metas[1:]).argmax(1)
        y1 = torch.where(boxes, p1.roll(-1, 0), p1)  # network 1's mixed pseudo-label
        y2 = torch.where(boxes, p2.roll(-1, 0), p2)
        s1 = model.student.encode_decode(mixed, metas[1:])
        s2 = model.peer.encode_decode(mixed, metas[1:])
    expected = slow_ce(s1, y2) + slow_ce(s2, y1)
    assert float(losses['loss_cps']) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match=r'mixer\.prob=1\.0.*unlabeled_per_batch'):
        model.check_semi_batch(1)


def test_cps_checkpoint_holds_both_networks_and_a_plain_one_loads_into_both():
    torch.manual_seed(0)
    model = build(cps_cfg())
    keys = model.state_dict().keys()
    assert any(k.startswith('student.') for k in keys) and any(k.startswith('peer.') for k in keys)
    plain = MODELS.build(ConfigDict(tiny_segmentor_cfg()))
    plain.init_weights()
    model.load_state_dict(plain.state_dict())
    for k, v in plain.state_dict().items():
        assert torch.equal(model.student.state_dict()[k], v)
        assert torch.equal(model.peer.state_dict()[k], v)
