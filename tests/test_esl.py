# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""ESL: every rule against a slow, independent reference."""
import math

import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from mmseg_u2pl.models.losses import anchor_infonce, dynamic_soft_labels, soft_cross_entropy
from mmseg_u2pl.models.utils import ClassPartPrototypes, spherical_kmeans
from _tiny import NUM_CLASSES, make_batch, tiny_segmentor_cfg


def esl_cfg(**train_cfg):
    return dict(type='ESLSegmentor', segmentor=tiny_segmentor_cfg(),
                projector=dict(channels=8, norm_cfg=dict(type='BN', requires_grad=True)),
                memory_bank=dict(length=16), semi_train_cfg=train_cfg)


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_dynamic_soft_labels_against_a_loop():
    torch.manual_seed(0)
    probs = (torch.randn(2, 6, 4, 5) * 2).softmax(1)
    probs[0, :, 0, 0] = torch.tensor([0.97, 0.01, 0.01, 0.005, 0.003, 0.002])
    for eta in (0.95, 0.6):
        got = dynamic_soft_labels(probs, eta)
        for b in range(2):
            for y in range(4):
                for x in range(5):
                    p = probs[b, :, y, x].tolist()
                    order = sorted(range(6), key=lambda c: -p[c])
                    chosen, total = [], 0.0
                    for c in order:          # the smallest top set reaching eta
                        chosen.append(c)
                        total += p[c]
                        if total >= eta:
                            break
                    exp = [p[c] / total if c in chosen else 0.0 for c in range(6)]
                    assert got[b, :, y, x].tolist() == pytest.approx(exp, abs=1e-6)
    assert dynamic_soft_labels(probs, 0.95)[0, :, 0, 0].tolist() == [1, 0, 0, 0, 0, 0]


def test_soft_cross_entropy_and_anchor_infonce_against_loops():
    torch.manual_seed(1)
    logits, t = torch.randn(2, 3, 4, 4), torch.rand(2, 3, 4, 4).softmax(1)
    valid = torch.rand(2, 4, 4) > 0.3
    total = n = 0.0
    for b in range(2):
        for y in range(4):
            for x in range(4):
                if valid[b, y, x]:
                    ls = torch.log_softmax(logits[b, :, y, x].double(), 0)
                    total -= float((t[b, :, y, x].double() * ls).sum())
                    n += 1
    assert float(soft_cross_entropy(logits, t, valid)) == pytest.approx(total / n, rel=1e-5)
    a, p, neg = torch.randn(5, 4), torch.randn(5, 4), torch.randn(5, 7, 4)
    cos = lambda u, v: float(u @ v / (u.norm() * v.norm()))  # noqa: E731
    ref = 0.0
    for i in range(5):
        num = math.exp(cos(a[i], p[i]) / 0.5)
        den = num + sum(math.exp(cos(a[i], neg[i, j]) / 0.5) for j in range(7))
        ref -= math.log(num / den)
    assert float(anchor_infonce(a, p, neg, 0.5)) == pytest.approx(ref / 5, rel=1e-5)
    assert float(anchor_infonce(a[:0], p[:0], neg[:0])) == 0


def np_kmeans(x, init, iters):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = init / np.linalg.norm(init, axis=1, keepdims=True)
    for _ in range(iters):
        assign = [int(np.argmax([xi @ cj for cj in c])) for xi in x]
        for k in range(len(c)):
            pts = [x[i] for i in range(len(x)) if assign[i] == k]
            if pts:
                m = np.sum(pts, axis=0)
                c[k] = m / np.linalg.norm(m)
    return c


def test_spherical_kmeans_against_numpy():
    torch.manual_seed(2)
    x = torch.randn(60, 5, dtype=torch.float64)
    init = x[:4].clone()
    got = spherical_kmeans(x, init, iters=6)
    exp = np_kmeans(x.numpy().copy(), init.numpy().copy(), 6)
    assert np.allclose(got.numpy(), exp, atol=1e-5)


def test_part_prototypes_assign_and_ema_against_loops():
    torch.manual_seed(3)
    C, K, D, m = 3, 2, 4, 0.9
    protos = ClassPartPrototypes(C, D, num_parts=K, momentum=m)
    feats, labels = torch.randn(40, D), torch.randint(0, 2, (40, ))  # class 2 absent
    protos.initialize(feats, labels)
    assert protos.initialized.tolist() == [True, True, False]
    before = protos.prototypes.clone()
    parts = protos.assign(feats, labels)
    for i in range(40):
        sims = [float(torch.nn.functional.normalize(feats[i], dim=0) @ before[labels[i], k])
                for k in range(K)]
        assert int(parts[i]) == int(np.argmax(sims))
    protos.update(feats, labels, parts)
    for c in range(C):
        for k in range(K):
            pts = [feats[i] / feats[i].norm() for i in range(40)
                   if int(labels[i]) == c and int(parts[i]) == k]
            if not pts or c == 2:
                assert torch.equal(protos.prototypes[c, k], before[c, k])
                continue
            v = m * before[c, k] + (1 - m) * torch.stack(pts).mean(0)
            assert torch.allclose(protos.prototypes[c, k], v / v.norm(), atol=1e-6)


def test_esl_step_learns_soft_labels_and_the_part_contrast():
    torch.manual_seed(0)
    model = build(esl_cfg())
    model.train()
    seen = []
    for it in range(3):
        data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=2, seed=it),
                                       training=True)
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        seen.append(losses)
    assert {'decode.loss_ce', 'loss_unsup', 'loss_contrast'} <= set(seen[0])
    # the queues are empty in the first step, filled afterwards
    assert float(seen[0]['contrast_anchors']) == 0 and float(seen[-1]['contrast_anchors']) > 0
    assert float(seen[-1]['loss_contrast']) > 0
    assert model.part_prototypes.initialized.any() and int(model.memory_bank.count.sum()) > 0
    assert model.student.projector[0].conv.weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())
    for key in ('part_prototypes.prototypes', 'memory_bank.queue'):
        assert key in model.state_dict()


def test_esl_knobs_are_checked_when_built():
    with pytest.raises(ValueError, match=r'soft_label_threshold.*1.5'):
        build(esl_cfg(soft_label_threshold=1.5))
    with pytest.raises(ValueError, match=r'temperature.*0'):
        build(esl_cfg(temperature=0))
    with pytest.raises(KeyError, match="'alpha_0'"):
        build(esl_cfg(alpha_0=0.2))
    with pytest.raises(ValueError, match='num_parts'):
        build(dict(esl_cfg(), prototypes=dict(num_parts=0)))
