# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Independent checks of the U2PL contrastive part (Eq. 4, 9-16, Alg. 1, L_b).

References are explicit per-pixel / per-class / per-anchor Python loops written
from the paper (Sec. 3.3) and supplementary Sec. D; none of them calls the
code under test. The rank O_ij(c) is computed with a descending argsort.
"""
import math

import numpy as np
import pytest
import torch

from mmseg_u2pl.models.heads.u2pl_contrastive_head import (U2PLContrastiveHead,
                                                            _sample_per_class,
                                                            binary_contrastive_loss,
                                                            class_positives, infonce_loss,
                                                            u2pl_anchor_mask,
                                                            u2pl_negative_mask)
from mmseg_u2pl.models.utils.memory_bank import ClassQueueMemoryBank

IGNORE = 255


# ----------------------------------------------------------------- references
def ref_rank(p: np.ndarray) -> np.ndarray:
    """O(c): position of class c in argsort(p) descending (0 = argmax)."""
    order = np.argsort(-p, kind='stable')
    rank = np.empty(len(p), dtype=np.int64)
    for pos, c in enumerate(order):
        rank[c] = pos
    return rank


def ref_anchor_mask(labels, probs, C, delta=0.3, ignore_index=IGNORE):
    """Eq. 9-11: A_c = {j | y_j = c, p_j(c) > delta_p} (y: GT or reliable pseudo-label)."""
    P = len(labels)
    out = np.zeros((P, C), dtype=bool)
    for j in range(P):
        y = int(labels[j])
        if y == ignore_index:
            continue
        for c in range(C):
            if y == c and probs[j, c] > delta:
                out[j, c] = True
    return out


def ref_negative_mask(labels, probs, is_labeled, unreliable, r_l, r_h, prt=True,
                      ignore_index=IGNORE):
    """Eq. 13-16 (and the documented 'w/o PRT' variant)."""
    P, C = probs.shape
    out = np.zeros((P, C), dtype=bool)
    for j in range(P):
        rank = ref_rank(probs[j])
        for c in range(C):
            if is_labeled[j]:
                y = int(labels[j])
                if y == ignore_index:
                    continue
                if prt:
                    out[j, c] = (y != c) and (0 <= rank[c] < r_l)  # Eq. 14
                else:
                    out[j, c] = y != c
            else:
                if prt:
                    out[j, c] = bool(unreliable[j]) and (r_l <= rank[c] < r_h)  # Eq. 15
                else:
                    out[j, c] = bool(unreliable[j]) and rank[c] != 0
    return out


def ref_positives(anchor_mask, feats):
    """Eq. 12: z_c^+ = mean of the anchor features of class c."""
    P, C = anchor_mask.shape
    D = feats.shape[1]
    cent = np.zeros((C, D))
    cnt = np.zeros(C)
    for c in range(C):
        rows = [feats[j] for j in range(P) if anchor_mask[j, c]]
        cnt[c] = len(rows)
        if rows:
            cent[c] = np.sum(rows, axis=0) / len(rows)
    return cent, cnt


def cos(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.dot(a, b) / (math.sqrt(np.dot(a, a)) * math.sqrt(np.dot(b, b))))


def ref_infonce_anchor(a, pos, negs, tau):
    """-log[e^{<a,z+>/tau} / (e^{<a,z+>/tau} + sum_j e^{<a,z_j->/tau})] (Eq. 4)."""
    e_pos = math.exp(cos(a, pos) / tau)
    e_neg = sum(math.exp(cos(a, n) / tau) for n in negs)
    return -math.log(e_pos / (e_pos + e_neg))


def ref_binary_anchor(a, pos, negs, tau):
    """(1/N) sum_j -log[e^{<a,z+>/tau} / (e^{<a,z+>/tau} + e^{<a,z_j->/tau})] (L_b)."""
    e_pos = math.exp(cos(a, pos) / tau)
    terms = [-math.log(e_pos / (e_pos + math.exp(cos(a, n) / tau))) for n in negs]
    return sum(terms) / len(terms)


def ref_masked_loss(anchors, positives, negatives, valid, tau, per_anchor_fn):
    """Documented convention: mean over the valid anchors of a class, then mean
    over the classes with >= 1 valid anchor; 0 if none."""
    C, M = valid.shape
    class_means = []
    for c in range(C):
        vals = [per_anchor_fn(anchors[c, i], positives[c], negatives[c, i], tau)
                for i in range(M) if valid[c, i]]
        if vals:
            class_means.append(sum(vals) / len(vals))
    if not class_means:
        return 0.0
    return sum(class_means) / len(class_means)


def ref_pseudo(probs_bchw: np.ndarray, alpha: float):
    """Eq. 5-6 reference on (B, C, H, W): labels, reliable (H < gamma), unreliable (H > gamma)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        ent = -np.sum(np.where(probs_bchw > 0, probs_bchw * np.log(probs_bchw), 0.0), axis=1)
    gamma = np.percentile(ent, 100 * (1 - alpha))
    lab = np.where(ent < gamma, probs_bchw.argmax(1), IGNORE)
    return lab, ent < gamma, ent > gamma


def make_pixels(seed, P, C, frac_labeled=0.5, sharp=2.0, alpha=0.3):
    """(P,) labels, (P, C) probs, (P,) is_labeled, (P,) unreliable, float64."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(P, C)) * sharp
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    is_labeled = rng.random(P) < frac_labeled
    gt = rng.integers(0, C, size=P)
    # ground truth agrees with the prediction most of the time
    agree = rng.random(P) < 0.6
    gt = np.where(agree, probs.argmax(1), gt)
    gt[rng.random(P) < 0.1] = IGNORE
    ent = -(probs * np.log(probs)).sum(1)
    ul = ~is_labeled
    gamma = np.percentile(ent[ul], 100 * (1 - alpha))
    pseudo = np.where(ent < gamma, probs.argmax(1), IGNORE)
    labels = np.where(is_labeled, gt, pseudo)
    unreliable = ul & (ent > gamma)
    return labels, probs, is_labeled, unreliable


def T(x, dtype=None):
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t if dtype is None else t.to(dtype)


# ------------------------------------------------------------ Eq. 9-11 anchors
@pytest.mark.parametrize('seed,C,delta', [(0, 4, 0.3), (1, 6, 0.3), (2, 21, 0.3), (3, 5, 0.6),
                                          (4, 3, 0.0)])
def test_anchor_mask_matches_loop(seed, C, delta):
    labels, probs, is_labeled, _ = make_pixels(seed, 200, C, sharp=1.5)
    got = u2pl_anchor_mask(T(labels), T(probs), C, positive_threshold=delta)
    assert got.dtype == torch.bool and got.shape == (200, C)
    exp = ref_anchor_mask(labels, probs, C, delta)
    np.testing.assert_array_equal(got.numpy(), exp)
    # both labeled and unlabeled pixels contribute anchors, and the
    # probability threshold actually removes some labeled ones
    assert exp[is_labeled].any() and exp[~is_labeled].any()
    if delta > 0:
        lab_ok = is_labeled & (labels != IGNORE)
        assert (~exp[lab_ok].any(1)).any()


def test_anchor_mask_custom_ignore_index():
    labels, probs, _, _ = make_pixels(5, 120, 5)
    labels = np.where(labels == IGNORE, -1, labels)
    got = u2pl_anchor_mask(T(labels), T(probs), 5, 0.3, ignore_index=-1)
    np.testing.assert_array_equal(got.numpy(), ref_anchor_mask(labels, probs, 5, 0.3, -1))


# ---------------------------------------------------------- Eq. 13-16 negatives
@pytest.mark.parametrize('seed,C,r_l,r_h', [
    (0, 5, 3, 20),   # C < r_h: every rank >= r_l qualifies on unlabeled pixels
    (1, 21, 3, 20),  # VOC setting, r_h < C
    (2, 6, 1, 3),
    (3, 4, 2, 3),
    (4, 4, 1, 3),
    (5, 7, 0, 2),
    (6, 19, 3, 20),
])
def test_negative_mask_matches_loop(seed, C, r_l, r_h):
    labels, probs, is_labeled, unreliable = make_pixels(seed, 300, C, sharp=1.0)
    got = u2pl_negative_mask(T(labels), T(probs), T(is_labeled), T(unreliable), r_l, r_h)
    assert got.dtype == torch.bool and got.shape == (300, C)
    exp = ref_negative_mask(labels, probs, is_labeled, unreliable, r_l, r_h)
    np.testing.assert_array_equal(got.numpy(), exp)
    if r_l > 0:
        assert exp[is_labeled].any()
    assert exp[~is_labeled].any()
    # labeled pixels with an ignored ground truth are never negatives
    assert not exp[is_labeled & (labels == IGNORE)].any()
    # reliable unlabeled pixels are never negatives
    assert not exp[~is_labeled & ~unreliable].any()


@pytest.mark.parametrize('seed,C', [(7, 5), (8, 21)])
def test_negative_mask_ignores_labels_of_unlabeled_and_unreliable_of_labeled(seed, C):
    labels, probs, is_labeled, unreliable = make_pixels(seed, 150, C)
    base = u2pl_negative_mask(T(labels), T(probs), T(is_labeled), T(unreliable), 3, 20)
    rng = np.random.default_rng(seed)
    labels2 = np.where(is_labeled, labels, rng.integers(0, C, size=len(labels)))
    unrel2 = np.where(is_labeled, rng.random(len(labels)) < 0.5, unreliable)
    got = u2pl_negative_mask(T(labels2), T(probs), T(is_labeled), T(unrel2), 3, 20)
    np.testing.assert_array_equal(got.numpy(), base.numpy())


@pytest.mark.parametrize('seed,C', [(9, 5), (10, 21)])
def test_negative_mask_without_rank_threshold(seed, C):
    labels, probs, is_labeled, unreliable = make_pixels(seed, 200, C)
    got = u2pl_negative_mask(T(labels), T(probs), T(is_labeled), T(unreliable), 3, 20,
                             use_rank_threshold=False)
    exp = ref_negative_mask(labels, probs, is_labeled, unreliable, 3, 20, prt=False)
    np.testing.assert_array_equal(got.numpy(), exp)


def test_negative_mask_rank_hand_example():
    # one labeled pixel, one unreliable unlabeled pixel, C = 5, r_l = 2, r_h = 4
    probs = np.array([[0.1, 0.4, 0.05, 0.3, 0.15],   # order: 1, 3, 4, 0, 2
                      [0.1, 0.4, 0.05, 0.3, 0.15]])
    labels = np.array([3, IGNORE])
    got = u2pl_negative_mask(T(labels), T(probs), T(np.array([True, False])),
                             T(np.array([False, True])), 2, 4).numpy()
    # labeled: y=3 != c and rank(c) < 2 -> only class 1 (class 3 is the GT)
    np.testing.assert_array_equal(got[0], [False, True, False, False, False])
    # unlabeled: 2 <= rank(c) < 4 -> classes 4 (rank 2) and 0 (rank 3)
    np.testing.assert_array_equal(got[1], [True, False, False, False, True])


# ---------------------------------------------------------------- Eq. 12 positives
def test_class_positives_matches_loop():
    labels, probs, _, _ = make_pixels(11, 100, 6)
    labels = np.where(labels == 4, IGNORE, labels)  # class 4: no anchors
    amask = ref_anchor_mask(labels, probs, 6)
    assert not amask[:, 4].any()
    feats = np.random.default_rng(11).normal(size=(100, 5))
    cent, cnt = class_positives(T(amask), T(feats))
    r_cent, r_cnt = ref_positives(amask, feats)
    np.testing.assert_allclose(cnt.numpy(), r_cnt)
    np.testing.assert_allclose(cent.numpy(), r_cent, rtol=1e-12, atol=1e-12)
    assert torch.isfinite(cent).all()
    assert (cent[4] == 0).all()


# ---------------------------------------------------------------- Eq. 4 InfoNCE
def random_loss_inputs(seed, C=3, M=4, N=5, D=6, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(C, M, D, generator=gen, dtype=dtype)
    p = torch.randn(C, D, generator=gen, dtype=dtype)
    n = torch.randn(C, M, N, D, generator=gen, dtype=dtype)
    return a, p, n


@pytest.mark.parametrize('fn', [infonce_loss, binary_contrastive_loss])
def test_loss_with_unit_negatives_given_as_normalized(fn):
    """negatives_normalized=True skips only the normalisation of the
    negatives: with unit negatives it is the same loss and gradient."""
    C, M, N = 3, 4, 6
    a, p, n = random_loss_inputs(5, C, M, N)
    valid = torch.rand(C, M, generator=torch.Generator().manual_seed(6)) > 0.3
    valid[0, 0] = True
    unit = n / n.norm(dim=-1, keepdim=True)
    a1, a2 = a.clone().requires_grad_(), a.clone().requires_grad_()
    exp = fn(a1, p, n, valid, 0.5)
    got = fn(a2, p, unit, valid, 0.5, negatives_normalized=True)
    np.testing.assert_allclose(got.item(), exp.item(), rtol=1e-12)
    exp.backward()
    got.backward()
    np.testing.assert_allclose(a2.grad.numpy(), a1.grad.numpy(), rtol=1e-10, atol=1e-14)
    # and it is really skipped: scaled negatives now change the loss
    assert not math.isclose(fn(a, p, 3 * unit, valid, 0.5, negatives_normalized=True).item(),
                            exp.item(), rel_tol=1e-6)


@pytest.mark.parametrize('tau', [0.5, 0.1, 1.0])
def test_infonce_all_valid_equals_literal_eq4(tau):
    C, M, N = 3, 4, 5
    a, p, n = random_loss_inputs(0, C, M, N)
    valid = torch.ones(C, M, dtype=torch.bool)
    got = infonce_loss(a, p, n, valid, temperature=tau)
    # literal Eq. 4: -1/(C M) sum_c sum_i log[...]
    total = 0.0
    an, pn, nn_ = a.numpy(), p.numpy(), n.numpy()
    for c in range(C):
        for i in range(M):
            total += ref_infonce_anchor(an[c, i], pn[c], nn_[c, i], tau)
    np.testing.assert_allclose(float(got), total / (C * M), rtol=1e-10)


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_infonce_masked_matches_loop(seed):
    C, M, N = 4, 5, 3
    a, p, n = random_loss_inputs(seed, C, M, N)
    gen = torch.Generator().manual_seed(100 + seed)
    valid = torch.rand(C, M, generator=gen) > 0.4
    valid[2] = False  # a class with no valid anchor
    valid[0, 0] = True
    # invalid anchors carry garbage / zero features: they must not matter
    a = a.clone()
    a[~valid] = 0.0
    got = infonce_loss(a, p, n, valid, temperature=0.5)
    exp = ref_masked_loss(a.numpy(), p.numpy(), n.numpy(), valid.numpy(), 0.5,
                          ref_infonce_anchor)
    assert torch.isfinite(got)
    np.testing.assert_allclose(float(got), exp, rtol=1e-10)
    # changing an invalid anchor does not change the loss
    a2 = a.clone()
    a2[~valid] = 7.0
    np.testing.assert_allclose(float(infonce_loss(a2, p, n, valid, 0.5)), exp, rtol=1e-10)


def test_infonce_class_mean_not_anchor_mean():
    # class 0: 1 valid anchor, class 1: 3 valid anchors -> classes weigh equally
    C, M, N = 2, 3, 4
    a, p, n = random_loss_inputs(4, C, M, N)
    valid = torch.tensor([[True, False, False], [True, True, True]])
    got = float(infonce_loss(a, p, n, valid, 0.5))
    an, pn, nn_ = a.numpy(), p.numpy(), n.numpy()
    l0 = ref_infonce_anchor(an[0, 0], pn[0], nn_[0, 0], 0.5)
    l1 = [ref_infonce_anchor(an[1, i], pn[1], nn_[1, i], 0.5) for i in range(3)]
    np.testing.assert_allclose(got, 0.5 * (l0 + sum(l1) / 3), rtol=1e-10)


@pytest.mark.parametrize('fn', [infonce_loss, binary_contrastive_loss])
def test_loss_all_invalid_is_exact_zero_and_differentiable(fn):
    a, p, n = random_loss_inputs(5, 3, 4, 5)
    a.requires_grad_(True)
    valid = torch.zeros(3, 4, dtype=torch.bool)
    loss = fn(a, p, n, valid, 0.5)
    assert loss.dim() == 0
    assert torch.isfinite(loss) and loss.detach().item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert a.grad is not None
    assert (a.grad == 0).all()


def test_infonce_gradcheck():
    C, M, N, D = 2, 3, 2, 3
    a, p, n = random_loss_inputs(6, C, M, N, D)
    valid = torch.tensor([[True, False, True], [True, True, True]])
    a.requires_grad_(True)
    p.requires_grad_(True)
    n.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a_, p_, n_: infonce_loss(a_, p_, n_, valid, 0.5), (a, p, n), eps=1e-6,
        atol=1e-6)


def test_binary_gradcheck():
    a, p, n = random_loss_inputs(7, 2, 2, 3, 3)
    valid = torch.tensor([[True, True], [False, True]])
    a.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a_: binary_contrastive_loss(a_, p, n, valid, 0.5), (a, ), eps=1e-6, atol=1e-6)


def test_infonce_gradient_matches_finite_difference_of_reference():
    # the gradient w.r.t. one anchor agrees with a finite difference of the
    # literal reference loss
    C, M, N, D = 2, 2, 3, 4
    a, p, n = random_loss_inputs(8, C, M, N, D)
    valid = torch.ones(C, M, dtype=torch.bool)
    a.requires_grad_(True)
    infonce_loss(a, p, n, valid, 0.5).backward()
    an, pn, nn_ = a.detach().numpy().copy(), p.numpy(), n.numpy()
    h = 1e-6
    for d in range(D):
        ap, am = an.copy(), an.copy()
        ap[1, 0, d] += h
        am[1, 0, d] -= h
        fp = ref_masked_loss(ap, pn, nn_, valid.numpy(), 0.5, ref_infonce_anchor)
        fm = ref_masked_loss(am, pn, nn_, valid.numpy(), 0.5, ref_infonce_anchor)
        np.testing.assert_allclose(float(a.grad[1, 0, d]), (fp - fm) / (2 * h), rtol=1e-5,
                                   atol=1e-8)


# ---------------------------------------------------------------- L_b (suppl. D)
@pytest.mark.parametrize('tau', [0.5, 0.2])
def test_binary_all_valid_equals_literal_eq(tau):
    C, M, N = 3, 4, 5
    a, p, n = random_loss_inputs(9, C, M, N)
    valid = torch.ones(C, M, dtype=torch.bool)
    got = binary_contrastive_loss(a, p, n, valid, temperature=tau)
    an, pn, nn_ = a.numpy(), p.numpy(), n.numpy()
    total = 0.0
    for c in range(C):
        for i in range(M):
            e_pos = math.exp(cos(an[c, i], pn[c]) / tau)
            for j in range(N):
                e_neg = math.exp(cos(an[c, i], nn_[c, i, j]) / tau)
                total += math.log(e_pos / (e_pos + e_neg))
    np.testing.assert_allclose(float(got), -total / (C * M * N), rtol=1e-10)


@pytest.mark.parametrize('seed', [10, 11])
def test_binary_masked_matches_loop(seed):
    C, M, N = 4, 3, 6
    a, p, n = random_loss_inputs(seed, C, M, N)
    gen = torch.Generator().manual_seed(seed)
    valid = torch.rand(C, M, generator=gen) > 0.3
    valid[1] = False
    valid[0, 1] = True
    got = binary_contrastive_loss(a, p, n, valid, 0.5)
    exp = ref_masked_loss(a.numpy(), p.numpy(), n.numpy(), valid.numpy(), 0.5,
                          ref_binary_anchor)
    np.testing.assert_allclose(float(got), exp, rtol=1e-10)


# ---------------------------------------------------------------- sampling
def test_sample_without_replacement_distinct_inside_mask():
    torch.manual_seed(0)
    P, C, num = 40, 5, 6
    gen = torch.Generator().manual_seed(1)
    mask = torch.rand(P, C, generator=gen) < 0.3
    mask[:, 3] = False  # no candidate
    mask[:, 4] = False
    mask[[2, 17, 33], 4] = True  # fewer candidates than requested
    mask[:, 0] = True  # plenty
    for _ in range(20):
        idx, valid = _sample_per_class(mask, num, replacement=False)
        assert idx.shape == (C, num) and valid.shape == (C, num)
        for c in range(C):
            cand = set(torch.nonzero(mask[:, c]).flatten().tolist())
            chosen = idx[c][valid[c]].tolist()
            assert len(chosen) == len(set(chosen)), 'duplicates without replacement'
            assert set(chosen) <= cand
            assert len(chosen) == min(num, len(cand))
            if len(cand) <= num:
                assert set(chosen) == cand
            assert ((idx[c] >= 0) & (idx[c] < P)).all()


def test_sample_without_replacement_fewer_pixels_than_requested():
    mask = torch.tensor([[True, False], [True, False], [False, False]])
    idx, valid = _sample_per_class(mask, 5, replacement=False)
    assert idx.shape == (2, 5) and valid.shape == (2, 5)
    assert set(idx[0][valid[0]].tolist()) == {0, 1}
    assert int(valid[0].sum()) == 2
    assert not valid[1].any()
    assert ((idx >= 0) & (idx < 3)).all()


def test_sample_without_replacement_is_random_and_covers_candidates():
    torch.manual_seed(2)
    mask = torch.zeros(30, 1, dtype=torch.bool)
    mask[5:25] = True
    seen = set()
    for _ in range(60):
        idx, valid = _sample_per_class(mask, 4, replacement=False)
        assert valid.all()
        seen.update(idx[0].tolist())
    assert seen == set(range(5, 25))


def test_sample_with_replacement_inside_mask():
    torch.manual_seed(3)
    P, C, num = 25, 4, 50
    mask = torch.zeros(P, C, dtype=torch.bool)
    mask[[1, 7], 0] = True
    mask[:, 1] = True
    mask[24, 2] = True
    idx, valid = _sample_per_class(mask, num, replacement=True)
    assert idx.shape == (C, num)
    for c in range(3):
        assert valid[c].all()
        cand = set(torch.nonzero(mask[:, c]).flatten().tolist())
        assert set(idx[c].tolist()) <= cand
    assert set(idx[0].tolist()) == {1, 7}  # 50 draws from 2 candidates hit both
    assert (idx[2] == 24).all()
    assert not valid[3].any()
    assert ((idx[3] >= 0) & (idx[3] < P)).all()


# ---------------------------------------------------------------- head end to end
C_HEAD, D_HEAD = 4, 4


def make_head(**kw):
    cfg = dict(in_channels=8, channels=D_HEAD, num_classes=C_HEAD, low_rank=1, high_rank=3,
               norm_cfg=dict(type='BN'))
    cfg.update(kw)
    return U2PLContrastiveHead(**cfg)


def random_head_batch(seed, B=4, h=6, w=6, n_labeled=2, alpha=0.3, sharp=2.0):
    gen = torch.Generator().manual_seed(seed)
    rep_s = torch.randn(B, D_HEAD, h, w, generator=gen, requires_grad=True)
    rep_t = torch.randn(B, D_HEAD, h, w, generator=gen)
    probs = (torch.randn(B, C_HEAD, h, w, generator=gen) * sharp).softmax(1)
    is_labeled = torch.arange(B) < n_labeled
    lab_pl, _, unrel = ref_pseudo(probs.double().numpy(), alpha)
    gt = torch.where(torch.rand(B, h, w, generator=gen) < 0.7, probs.argmax(1),
                     torch.randint(0, C_HEAD, (B, h, w), generator=gen))
    gt[torch.rand(B, h, w, generator=gen) < 0.1] = IGNORE
    labels = torch.where(is_labeled[:, None, None], gt, torch.from_numpy(lab_pl))
    unreliable = torch.from_numpy(unrel) & ~is_labeled[:, None, None]
    return rep_s, rep_t, labels.long(), probs, is_labeled, unreliable


def flat(rep_s, rep_t, labels, probs, is_labeled, unreliable):
    B, D = rep_s.shape[:2]
    zs = rep_s.detach().permute(0, 2, 3, 1).reshape(-1, D).double().numpy()
    zt = rep_t.detach().permute(0, 2, 3, 1).reshape(-1, D).double().numpy()
    y = labels.reshape(-1).numpy()
    p = probs.permute(0, 2, 3, 1).reshape(-1, probs.shape[1]).double().numpy()
    lab = is_labeled[:, None, None].expand_as(labels).reshape(-1).numpy()
    unrel = unreliable.reshape(-1).numpy()
    return zs, zt, y, p, lab, unrel


def test_head_forward_shape():
    head = make_head()
    out = head(torch.randn(2, 8, 5, 7))
    assert out.shape == (2, D_HEAD, 5, 7)


@pytest.mark.parametrize('use_bank', [True, False])
@pytest.mark.parametrize('loss_type', ['infonce', 'binary'])
@pytest.mark.parametrize('replacement', [False, True])
def test_head_loss_random_inputs_finite(use_bank, loss_type, replacement):
    torch.manual_seed(0)
    head = make_head(num_anchors=8, num_negatives=6, loss_type=loss_type,
                     sample_with_replacement=replacement)
    rep_s, rep_t, labels, probs, is_labeled, unreliable = random_head_batch(1)
    rep_t.requires_grad_(True)
    bank = ClassQueueMemoryBank(num_classes=4, dim=4, length=10,
                                background_index=None) if use_bank else None
    for _ in range(2):  # second step also samples older entries of the bank
        loss, stats = head.loss(rep_s, rep_t, labels, probs, is_labeled, unreliable, bank)
        assert loss.dim() == 0 and torch.isfinite(loss) and loss.detach().item() > 0
        loss.backward()
        assert rep_s.grad is not None and torch.isfinite(rep_s.grad).all()
        assert rep_s.grad.abs().sum() > 0
        # positives and negatives come from the teacher, without gradient
        assert rep_t.grad is None
        rep_s.grad = None
        assert torch.isfinite(stats['contrast_classes'])
    if use_bank:
        assert (bank.count > 0).any()


def _single_negative_batch(seed):
    """B=3 (2 labeled, 1 unlabeled), C=4, r_l=1: a labeled pixel is a negative of c
    iff argmax p = c != y. Exactly one such pixel for classes 0, 1, 2; none for 3
    (class 3 keeps anchors but has no negative). No unreliable pixel."""
    gen = torch.Generator().manual_seed(seed)
    B, h, w = 3, 4, 4
    target = torch.randint(0, C_HEAD, (B, h, w), generator=gen)
    target[0, 0, 0] = 3  # make sure class 3 has anchors
    logits = torch.randn(B, C_HEAD, h, w, generator=gen)
    logits.scatter_add_(1, target[:, None], torch.full((B, 1, h, w), 4.0))
    probs = logits.softmax(1)
    assert (probs.argmax(1) == target).all()
    labels = target.clone()
    designated = {0: (0, 1, 1), 1: (1, 2, 3), 2: (1, 0, 2)}
    for c, (b, y, x) in designated.items():
        target[b, y, x] = c
        logits[b, :, y, x] = torch.tensor([-2.0, -2.0, -2.0, -2.0])
        logits[b, c, y, x] = 3.0
        labels[b, y, x] = (c + 1) % C_HEAD  # misclassified as c
    probs = logits.softmax(1)
    # labeled pixels elsewhere are correctly classified -> not negatives
    other = torch.ones(B, h, w, dtype=torch.bool)
    for b, y, x in designated.values():
        other[b, y, x] = False
    assert (probs.argmax(1)[other] == labels[other]).all()
    labels[0, 3, 3] = IGNORE
    labels[2, 1, 1] = IGNORE  # an unlabeled pixel that is neither reliable nor unreliable
    is_labeled = torch.tensor([True, True, False])
    unreliable = torch.zeros(B, h, w, dtype=torch.bool)
    rep_s = torch.randn(B, D_HEAD, h, w, generator=gen, requires_grad=True)
    rep_t = torch.randn(B, D_HEAD, h, w, generator=gen)
    return rep_s, rep_t, labels, probs, is_labeled, unreliable


def _expected_loss(zs, zt, y, p, lab, unrel, r_l, r_h, tau, N, per_anchor_fn, neg_feats=None,
                   has_neg=None):
    """Reference L_c of Algorithm 1 when every candidate anchor is used.
    ``neg_feats[c]``: the N negatives of class c (same for all its anchors)."""
    amask = ref_anchor_mask(y, p, C_HEAD)
    nmask = ref_negative_mask(y, p, lab, unrel, r_l, r_h)
    cent, cnt = ref_positives(amask, zt)
    per_class = []
    for c in range(C_HEAD):
        if neg_feats is None:
            rows = np.nonzero(nmask[:, c])[0]
            if len(rows) == 0:
                continue
            assert len(rows) == 1
            negs = [zt[rows[0]]] * N
        else:
            if not has_neg[c]:
                continue
            negs = neg_feats[c]
        anchors = np.nonzero(amask[:, c])[0]
        if len(anchors) == 0:
            continue
        per_class.append(np.mean([per_anchor_fn(zs[i], cent[c], negs, tau) for i in anchors]))
    return (float(np.mean(per_class)) if per_class else 0.0), amask, nmask, len(per_class)


@pytest.mark.parametrize('use_bank', [True, False])
@pytest.mark.parametrize('loss_type', ['infonce', 'binary'])
def test_head_loss_exact_single_negative(use_bank, loss_type):
    torch.manual_seed(1)
    N, tau, weight = 5, 0.5, 0.1
    rep_s, rep_t, labels, probs, is_labeled, unreliable = _single_negative_batch(2)
    head = make_head(num_anchors=64, num_negatives=N, temperature=tau, loss_type=loss_type)
    assert head.loss_weight == weight  # lambda_c = 0.1 (Tab. A1) by default
    bank = ClassQueueMemoryBank(num_classes=4, dim=4, length=10,
                                background_index=None) if use_bank else None
    loss, stats = head.loss(rep_s, rep_t, labels, probs, is_labeled, unreliable, bank)
    fn = ref_infonce_anchor if loss_type == 'infonce' else ref_binary_anchor
    exp, amask, nmask, n_cls = _expected_loss(
        *flat(rep_s, rep_t, labels, probs, is_labeled, unreliable), 1, 3, tau, N, fn)
    assert nmask[:, :3].sum(0).tolist() == [1, 1, 1] and not nmask[:, 3].any()
    assert amask[:, 3].any()  # class 3 has anchors but no negative -> excluded
    assert n_cls == 3
    np.testing.assert_allclose(loss.detach().item(), weight * exp, rtol=1e-5)
    assert float(stats['contrast_classes']) == 3
    assert float(stats['contrast_negatives']) == 3
    if use_bank:
        assert bank.count.tolist() == [1, 1, 1, 0]
        # the bank keeps the negatives as unit vectors
        for c in range(3):
            np.testing.assert_allclose(bank.get(c).norm(dim=1).numpy(), 1.0, rtol=1e-6)


class StubBank:
    """Duck-typed memory bank: records pushes, returns fixed negatives."""

    def __init__(self, neg_feats, count):
        self.neg_feats = neg_feats  # (C, N, D)
        self.count = count
        self.pushed = []

    def push(self, feats, labels):
        self.pushed.append((feats.detach().clone(), labels.clone()))

    def sample(self, classes, num):
        C, N, D = self.neg_feats.shape
        assert classes.tolist() == list(range(C))
        M = num // N
        assert M * N == num
        return self.neg_feats[:, None].expand(C, M, N, D).reshape(C, M * N, D).clone()


@pytest.mark.parametrize('loss_type', ['infonce', 'binary'])
@pytest.mark.parametrize('seed', [3, 4])
def test_head_loss_exact_with_stub_bank(loss_type, seed):
    torch.manual_seed(seed)
    N, tau = 4, 0.5
    rep_s, rep_t, labels, probs, is_labeled, unreliable = random_head_batch(
        seed, B=4, h=4, w=5, n_labeled=2, sharp=1.0)
    # class 2 absent: never a label, never probable enough, lowest rank
    logits = probs.log()
    logits[:, 2] = -20.0
    probs = logits.softmax(1)
    lab_pl, _, unrel = ref_pseudo(probs.double().numpy(), 0.3)
    labels[2:] = torch.from_numpy(lab_pl[2:])
    labels[:2][labels[:2] == 2] = 0
    unreliable = torch.from_numpy(unrel)
    unreliable[:2] = True  # must be ignored on labeled images
    gen = torch.Generator().manual_seed(seed + 50)
    # the bank holds unit vectors: the head pushes its negatives normalised
    neg_feats = torch.randn(C_HEAD, N, D_HEAD, generator=gen)
    neg_feats = neg_feats / neg_feats.norm(dim=-1, keepdim=True)
    has_neg = torch.tensor([3, 0, 5, 2])  # class 1: empty queue
    bank = StubBank(neg_feats, has_neg)
    head = make_head(num_anchors=128, num_negatives=N, temperature=tau, loss_type=loss_type,
                     loss_weight=1.0)
    loss, stats = head.loss(rep_s, rep_t, labels, probs, is_labeled, unreliable, bank)
    fn = ref_infonce_anchor if loss_type == 'infonce' else ref_binary_anchor
    zs, zt, y, p, lab, unrel_f = flat(rep_s, rep_t, labels, probs, is_labeled, unreliable)
    exp, amask, nmask, n_cls = _expected_loss(zs, zt, y, p, lab, unrel_f, 1, 3, tau, N, fn,
                                              neg_feats=neg_feats.double().numpy(),
                                              has_neg=(has_neg > 0).numpy())
    assert not amask[:, 2].any() and not nmask[:, 2].any()
    assert amask[:, 0].any() and amask[:, 3].any()
    assert n_cls >= 2
    np.testing.assert_allclose(loss.detach().item(), exp, rtol=1e-5)
    # what was pushed is exactly N_c of Eq. 13-16, with teacher features
    # scaled to unit length
    assert len(bank.pushed) == 1
    feats, cls = bank.pushed[0]
    got_pairs = sorted((int(c), tuple(np.round(f.double().numpy(), 5)))
                       for f, c in zip(feats, cls))
    exp_pairs = sorted((c, tuple(np.round(zt[j] / np.linalg.norm(zt[j]), 5)))
                       for j, c in zip(*np.nonzero(nmask)))
    assert len(exp_pairs) > 0
    assert any(lab[j] for j in np.nonzero(nmask)[0])  # labeled negatives present
    assert any(not lab[j] for j in np.nonzero(nmask)[0])  # unlabeled negatives present
    assert got_pairs == exp_pairs


@pytest.mark.parametrize('use_bank', [True, False])
def test_head_loss_all_ignored_no_unreliable_is_zero(use_bank):
    torch.manual_seed(5)
    head = make_head(num_anchors=8, num_negatives=6)
    rep_s, rep_t, labels, probs, is_labeled, unreliable = random_head_batch(6)
    labels = torch.full_like(labels, IGNORE)
    unreliable = torch.zeros_like(unreliable)
    bank = ClassQueueMemoryBank(num_classes=4, dim=4, length=10,
                                background_index=None) if use_bank else None
    loss, stats = head.loss(rep_s, rep_t, labels, probs, is_labeled, unreliable, bank)
    assert torch.isfinite(loss) and loss.detach().item() == 0.0
    loss.backward()
    assert rep_s.grad is not None and (rep_s.grad == 0).all()
    assert float(stats['contrast_classes']) == 0
    if use_bank:
        assert bank.count.sum() == 0


@pytest.mark.parametrize('use_bank', [True, False])
def test_head_loss_empty_bank_every_class_is_zero(use_bank):
    """Anchors exist (reliable unlabeled pixels) but no negative anywhere:
    every queue stays empty -> L_c = 0."""
    torch.manual_seed(7)
    head = make_head(num_anchors=8, num_negatives=6)
    rep_s, rep_t, _, probs, _, _ = random_head_batch(8, sharp=4.0)
    B = probs.shape[0]
    is_labeled = torch.zeros(B, dtype=torch.bool)
    labels = probs.argmax(1)
    unreliable = torch.zeros(labels.shape, dtype=torch.bool)
    assert ref_anchor_mask(labels.reshape(-1).numpy(),
                           probs.permute(0, 2, 3, 1).reshape(-1, C_HEAD).numpy(),
                           C_HEAD).any()
    bank = ClassQueueMemoryBank(num_classes=4, dim=4, length=10,
                                background_index=None) if use_bank else None
    loss, _ = head.loss(rep_s, rep_t, labels, probs, is_labeled, unreliable, bank)
    assert torch.isfinite(loss) and loss.detach().item() == 0.0
    loss.backward()
    assert (rep_s.grad == 0).all()
    if use_bank:
        assert bank.count.tolist() == [0, 0, 0, 0]


def test_head_rejects_low_rank_not_below_num_classes():
    with pytest.raises(ValueError):
        make_head(low_rank=4, high_rank=6)
