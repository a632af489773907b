# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Independent checks of the entropy-based pseudo-labelling (U2PL Eq. 5-8).

Every reference below is written from the paper (Sec. 3.2) with NumPy / plain
Python loops; none of them calls the code under test.
"""
import math

import numpy as np
import pytest
import torch

from mmseg_u2pl.models.utils.pseudo_labeling import (adaptive_unsup_weight,
                                                     entropy_percentile,
                                                     entropy_threshold_pseudo_labels,
                                                     linear_unreliable_ratio,
                                                     num_unreliable_pixels, pixel_entropy)

IGNORE = 255


# ----------------------------------------------------------------- references
def ref_entropy(probs: np.ndarray) -> np.ndarray:
    """Eq. 5 with a loop: H = -sum_c p(c) log p(c), 0 log 0 = 0. probs (B,C,H,W)."""
    B, C, H, W = probs.shape
    out = np.zeros((B, H, W), dtype=np.float64)
    for b in range(B):
        for y in range(H):
            for x in range(W):
                s = 0.0
                for c in range(C):
                    p = float(probs[b, c, y, x])
                    if p > 0:
                        s -= p * math.log(p)
                out[b, y, x] = s
    return out


def ref_pseudo_labels(probs: np.ndarray, alpha: float, valid: np.ndarray = None,
                      ignore_index: int = IGNORE):
    """Eq. 6 as the paper implements it: gamma = np.percentile(H[valid],
    100 (1 - alpha)); the valid pixels with H >= gamma are ignored, the others
    get argmax p; alpha = 0 filters nothing. (Only used on tie-free data: the
    code breaks ties by rank.)"""
    B, C, H, W = probs.shape
    ent = ref_entropy(probs)
    if valid is None:
        valid = np.ones((B, H, W), dtype=bool)
    gamma = float(np.percentile(ent[valid], 100.0 * (1.0 - alpha))) if alpha > 0 else math.inf
    label = np.full((B, H, W), ignore_index, dtype=np.int64)
    reliable = np.zeros((B, H, W), dtype=bool)
    for b in range(B):
        for y in range(H):
            for x in range(W):
                if valid[b, y, x] and not ent[b, y, x] >= gamma:
                    reliable[b, y, x] = True
                    label[b, y, x] = int(np.argmax(probs[b, :, y, x]))
    return label, ent, reliable, gamma


def random_probs(gen: torch.Generator, shape, sharp: float = 3.0, dtype=torch.float64):
    logits = torch.randn(*shape, generator=gen, dtype=dtype) * sharp
    return logits.softmax(dim=1)


# --------------------------------------------------------------- Eq. 5 entropy
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_entropy_matches_numpy_loop(seed):
    gen = torch.Generator().manual_seed(seed)
    probs = random_probs(gen, (2, 5, 3, 4))
    got = pixel_entropy(probs, dim=1)
    assert got.shape == (2, 3, 4)
    np.testing.assert_allclose(got.numpy(), ref_entropy(probs.numpy()), rtol=1e-12, atol=1e-12)


def test_entropy_float32_close_to_float64_reference():
    gen = torch.Generator().manual_seed(3)
    probs = random_probs(gen, (2, 7, 4, 4), dtype=torch.float32)
    got = pixel_entropy(probs)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), ref_entropy(probs.double().numpy()), rtol=1e-5,
                               atol=1e-6)


def test_entropy_other_dim():
    gen = torch.Generator().manual_seed(4)
    probs = random_probs(gen, (2, 6, 3, 3))
    last = probs.permute(0, 2, 3, 1).contiguous()  # classes last
    got = pixel_entropy(last, dim=-1)
    np.testing.assert_allclose(got.numpy(), ref_entropy(probs.numpy()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_entropy_one_hot_is_exactly_zero(dtype):
    C = 6
    labels = torch.tensor([[[0, 3], [5, 1]]])
    probs = torch.nn.functional.one_hot(labels, C).permute(0, 3, 1, 2).to(dtype)
    got = pixel_entropy(probs)
    assert torch.isfinite(got).all()
    assert (got == 0).all(), got


@pytest.mark.parametrize('C', [2, 5, 19, 21])
def test_entropy_uniform_is_log_C(C):
    probs = torch.full((2, C, 3, 3), 1.0 / C, dtype=torch.float64)
    got = pixel_entropy(probs)
    np.testing.assert_allclose(got.numpy(), np.full((2, 3, 3), math.log(C)), rtol=1e-12)


# ------------------------------------------------------- percentile (np-compatible)
PERCENTILES = [0.0, 100.0, 50.0, 80.0, 99.0, 1.0, 12.5, 33.3, 66.7, 79.99, 0.001, 99.999] \
    + list(np.linspace(0, 100, 37))


@pytest.mark.parametrize('n', [1, 2, 3, 4, 7, 10, 101, 1000])
def test_percentile_matches_numpy(n):
    rng = np.random.default_rng(n)
    vals = rng.random(n)
    t = torch.from_numpy(vals)
    for q in PERCENTILES:
        got = entropy_percentile(t, float(q))
        assert got.dim() == 0
        np.testing.assert_allclose(float(got), np.percentile(vals, q), rtol=1e-12, atol=1e-14,
                                   err_msg=f'n={n} q={q}')


@pytest.mark.parametrize('n', [5, 6, 50, 51])
def test_percentile_with_duplicates_and_multidim(n):
    rng = np.random.default_rng(100 + n)
    vals = rng.integers(0, 4, size=(n, 3)).astype(np.float64)  # many ties
    t = torch.from_numpy(vals)
    for q in PERCENTILES:
        np.testing.assert_allclose(float(entropy_percentile(t, float(q))),
                                   np.percentile(vals.ravel(), q), rtol=1e-12, atol=1e-14,
                                   err_msg=f'n={n} q={q}')


def test_percentile_float32_and_constant():
    rng = np.random.default_rng(7)
    vals = rng.random((4, 9, 9)).astype(np.float32)
    for q in PERCENTILES:
        np.testing.assert_allclose(float(entropy_percentile(torch.from_numpy(vals), float(q))),
                                   np.percentile(vals.astype(np.float64), q), rtol=1e-6)
    const = torch.full((13, ), 0.25, dtype=torch.float64)
    for q in PERCENTILES:
        assert float(entropy_percentile(const, float(q))) == 0.25


def test_percentile_rejects_bad_input():
    with pytest.raises(ValueError):
        entropy_percentile(torch.rand(5), 101.0)
    with pytest.raises(ValueError):
        entropy_percentile(torch.rand(5), -0.5)
    with pytest.raises(ValueError):
        entropy_percentile(torch.zeros(0), 50.0)


# ------------------------------------------------------------ Eq. 6 pseudo-labels
def _check_eq6(probs, alpha, valid=None, ignore_index=IGNORE):
    label, ent, reliable, gamma = entropy_threshold_pseudo_labels(
        probs, alpha, valid=None if valid is None else torch.from_numpy(valid),
        ignore_index=ignore_index)
    r_label, r_ent, r_rel, r_gamma = ref_pseudo_labels(probs.numpy(), alpha, valid, ignore_index)
    np.testing.assert_allclose(ent.numpy(), r_ent, rtol=1e-12, atol=1e-12)
    if math.isinf(r_gamma):
        assert math.isinf(float(gamma)) and float(gamma) > 0
    else:
        np.testing.assert_allclose(float(gamma), r_gamma, rtol=1e-12)
    assert label.dtype == torch.long
    np.testing.assert_array_equal(reliable.numpy(), r_rel)
    np.testing.assert_array_equal(label.numpy(), r_label)
    return label, reliable


@pytest.mark.parametrize('seed,alpha', [(0, 0.2), (1, 0.5), (2, 0.05), (3, 0.9), (4, 0.2)])
def test_eq6_matches_reference(seed, alpha):
    gen = torch.Generator().manual_seed(seed)
    probs = random_probs(gen, (3, 5, 6, 7), sharp=2.0)
    label, reliable = _check_eq6(probs, alpha)
    # the percentile rule ignores 1 + floor(alpha (n - 1)) distinct pixels
    n = reliable.numel()
    n_ignored = int((~reliable).sum())
    assert n_ignored == 1 + math.floor(alpha * (n - 1)), (n_ignored, alpha * n)


@pytest.mark.parametrize('seed', [5, 6])
def test_eq6_with_valid_mask(seed):
    gen = torch.Generator().manual_seed(seed)
    probs = random_probs(gen, (2, 4, 8, 8), sharp=1.5)
    valid = np.ones((2, 8, 8), dtype=bool)
    valid[0, :, 5:] = False  # right padding
    valid[1, 6:, :] = False  # bottom padding
    # padded pixels get extreme entropies: they must not move gamma_t
    probs_np = probs.numpy().copy()
    probs_np[0, :, :, 5:] = 1.0 / 4  # max entropy on padding
    probs = torch.from_numpy(probs_np)
    label, reliable = _check_eq6(probs, 0.3, valid=valid)
    assert (label.numpy()[~valid] == IGNORE).all()
    # gamma computed on valid pixels only: differs from the all-pixel percentile
    _, ent, _, gamma = entropy_threshold_pseudo_labels(probs, 0.3, valid=torch.from_numpy(valid))
    np.testing.assert_allclose(float(gamma), np.percentile(ent.numpy()[valid], 70.0), rtol=1e-12)


def test_eq6_custom_ignore_index():
    gen = torch.Generator().manual_seed(8)
    probs = random_probs(gen, (2, 3, 5, 5))
    label, _ = _check_eq6(probs, 0.4, ignore_index=-1)
    assert (label == -1).any()


def test_eq6_alpha_zero_filters_nothing():
    gen = torch.Generator().manual_seed(9)
    probs = random_probs(gen, (2, 6, 5, 5))
    label, ent, reliable, gamma = entropy_threshold_pseudo_labels(probs, 0.0)
    assert reliable.all()
    np.testing.assert_array_equal(label.numpy(), probs.argmax(1).numpy())
    # with a valid mask: exactly the valid pixels are kept
    valid = torch.rand(2, 5, 5, generator=gen) > 0.3
    label, ent, reliable, gamma = entropy_threshold_pseudo_labels(probs, 0.0, valid=valid)
    np.testing.assert_array_equal(reliable.numpy(), valid.numpy())
    exp = np.where(valid.numpy(), probs.argmax(1).numpy(), IGNORE)
    np.testing.assert_array_equal(label.numpy(), exp)


def test_eq6_all_invalid_everything_ignored_and_finite():
    gen = torch.Generator().manual_seed(10)
    probs = random_probs(gen, (2, 4, 3, 3))
    valid = torch.zeros(2, 3, 3, dtype=torch.bool)
    label, ent, reliable, gamma = entropy_threshold_pseudo_labels(probs, 0.2, valid=valid)
    assert (label == IGNORE).all()
    assert not reliable.any()
    assert torch.isfinite(ent).all()
    assert not torch.isnan(gamma)
    w = adaptive_unsup_weight(label)
    assert torch.isfinite(w) and float(w) == 0.0


def test_eq6_rejects_bad_alpha():
    probs = torch.full((1, 2, 2, 2), 0.5)
    with pytest.raises(ValueError):
        entropy_threshold_pseudo_labels(probs, 1.0)
    with pytest.raises(ValueError):
        entropy_threshold_pseudo_labels(probs, -0.1)


# ------------------------------------------------------------ Eq. 8 lambda_u
@pytest.mark.parametrize('seed,eta,ignore_index', [(0, 1.0, 255), (1, 2.5, 255), (2, 0.7, -1)])
def test_eq8_matches_direct_count(seed, eta, ignore_index):
    rng = np.random.default_rng(seed)
    B, H, W = 3, 5, 7
    lab = rng.integers(0, 4, size=(B, H, W))
    lab[rng.random((B, H, W)) < 0.35] = ignore_index
    kept = 0
    for b in range(B):
        for y in range(H):
            for x in range(W):
                kept += int(lab[b, y, x] != ignore_index)
    expected = eta * (B * H * W) / kept
    got = adaptive_unsup_weight(torch.from_numpy(lab), eta=eta, ignore_index=ignore_index)
    assert got.dim() == 0
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_eq8_nothing_ignored_is_eta():
    lab = torch.zeros(2, 4, 4, dtype=torch.long)
    np.testing.assert_allclose(float(adaptive_unsup_weight(lab, eta=3.0)), 3.0, rtol=1e-7)


def test_eq8_all_ignored_is_zero_and_finite():
    lab = torch.full((2, 4, 4), IGNORE, dtype=torch.long)
    got = adaptive_unsup_weight(lab)
    assert torch.isfinite(got)
    assert float(got) == 0.0


def test_eq6_then_eq8_reciprocal_of_reliable_fraction():
    gen = torch.Generator().manual_seed(11)
    probs = random_probs(gen, (2, 5, 10, 10))
    label, _, reliable, _ = entropy_threshold_pseudo_labels(probs, 0.2)
    frac = reliable.double().mean().item()
    np.testing.assert_allclose(float(adaptive_unsup_weight(label)), 1.0 / frac, rtol=1e-6)


# ------------------------------------------------------------ Eq. 7 alpha_t
@pytest.mark.parametrize('alpha0,T', [(0.2, 80), (0.2, 200), (0.5, 7)])
def test_eq7_linear_schedule(alpha0, T):
    assert linear_unreliable_ratio(alpha0, 0, T) == pytest.approx(alpha0, abs=1e-15)
    assert linear_unreliable_ratio(alpha0, T / 2, T) == pytest.approx(alpha0 / 2, abs=1e-15)
    assert linear_unreliable_ratio(alpha0, T, T) == pytest.approx(0.0, abs=1e-15)
    for t in range(0, int(T) + 1):
        assert linear_unreliable_ratio(alpha0, t, T) == pytest.approx(
            alpha0 * (1 - t / T), abs=1e-12)


def test_eq7_values_published_setting():
    # VOC: alpha_0 = 20 %, 80 epochs
    assert linear_unreliable_ratio(0.2, 20, 80) == pytest.approx(0.15)
    assert linear_unreliable_ratio(0.2, 40, 80) == pytest.approx(0.10)
    assert linear_unreliable_ratio(0.2, 79, 80) == pytest.approx(0.0025)


def test_eq7_rejects_bad_total():
    with pytest.raises(ValueError):
        linear_unreliable_ratio(0.2, 0, 0)


def test_adaptive_weight_counts_only_valid_pixels():
    """Eq. 8 over real pixels: padding is neither kept nor part of |B_u| H W."""
    label = torch.tensor([[[0, 1, 255, 255], [2, 255, 255, 255]]])
    valid = torch.tensor([[[True, True, True, False], [True, True, False, False]]])
    # 5 real pixels, 3 of them kept
    got = adaptive_unsup_weight(label, eta=2.0, ignore_index=255, valid=valid)
    assert float(got) == pytest.approx(2.0 * 5 / 3)
    assert float(adaptive_unsup_weight(label, 2.0, 255)) == pytest.approx(2.0 * 8 / 3)


def test_eq6_saturated_teacher_keeps_the_reliable_fraction():
    """Many pixels with entropy exactly 0 (a saturated softmax): the
    percentile threshold is 0 and ``H < gamma`` would reject every pixel; the
    top-alpha rule still ignores only the alpha fraction of highest entropy."""
    probs = torch.zeros(1, 3, 10, 10, dtype=torch.float64)
    probs[:, 0] = 1.0  # one-hot: H = 0 on 90 pixels
    probs[0, :, 0, :] = 1.0 / 3  # 10 uncertain pixels: H = log 3
    label, ent, reliable, gamma = entropy_threshold_pseudo_labels(probs, 0.2)
    assert float(gamma) == 0.0 and int((ent < gamma).sum()) == 0
    # as many as for distinct entropies: 1 + floor(0.2 * 99) = 20 unreliable
    assert int(reliable.sum()) == 80
    assert not reliable[0, 0].any()  # the uncertain row is unreliable
    assert (~reliable[0, 1:]).sum() == 10  # then 10 of the 90 tied zeros
    assert (label[reliable] == 0).all() and (label[~reliable] == IGNORE).all()
    # the tied pixels dropped are drawn at random, not always the same region
    dropped = torch.zeros(10, 10)
    for seed in range(20):
        torch.manual_seed(seed)
        dropped += (~entropy_threshold_pseudo_labels(probs, 0.2)[2][0]).float()
    assert (dropped[1:] > 0).sum() > 40


# ------------------------------------------- Eq. 6: the count of the percentile rule
def _float_edge_cases(limit=300):
    """(n, alpha) where NumPy's virtual index (n - 1) * (q / 100) lies a
    rounding error away from an integer (e.g. 3.0000000000000004)."""
    cases = []
    for n in range(2, limit):
        for alpha in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.05, 0.15):
            pos = (n - 1) * (100.0 * (1.0 - alpha) / 100.0)
            if pos != math.floor(pos) and abs(pos - round(pos)) < 1e-9:
                cases.append((n, alpha))
    return cases


ALPHAS = [0.2, 0.1, 0.05, 0.3, 0.5, 0.15, 0.01, 0.9, 0.25, 0.19, 0.7, 0.2 * (1 - 3 / 80),
          0.2 * (1 - 7 / 200), 1e-6]


def test_unreliable_set_is_numpy_percentile_rule_for_distinct_entropies():
    """{unreliable} == {H >= np.percentile(H, 100 (1 - alpha))} exactly, for
    many n and alpha and for the float edge cases of NumPy's index."""
    rng = np.random.default_rng(0)
    cases = [(n, a) for n in list(range(1, 120)) + [162, 255, 513] for a in ALPHAS]
    cases += _float_edge_cases()
    naive_differs = 0
    for n, alpha in cases:
        logits = torch.from_numpy(rng.normal(size=(1, 3, 1, n)) * 2.0)
        _, ent, reliable, _ = entropy_threshold_pseudo_labels(logits.softmax(1), alpha)
        h = ent.numpy().ravel()
        assert len(np.unique(h)) == n
        unreliable = h >= np.percentile(h, 100 * (1 - alpha))
        np.testing.assert_array_equal(~reliable.numpy().ravel(), unreliable,
                                      err_msg=f'n={n} alpha={alpha}')
        naive_differs += int(unreliable.sum()) != n - math.ceil((n - 1) * (1 - alpha))
    # the float edge cases are real: a plain ceil() count would miss some
    assert naive_differs > 0


def test_n162_alpha02_ignores_33_not_32():
    gen = torch.Generator().manual_seed(12)
    probs = random_probs(gen, (2, 4, 9, 9))  # n = 162 distinct entropies
    _, ent, reliable, gamma = entropy_threshold_pseudo_labels(probs, 0.2)
    h = ent.numpy().ravel()
    assert int((h >= np.percentile(h, 80.0)).sum()) == 33 == 1 + math.floor(0.2 * 161)
    assert int((~reliable).sum()) == 33  # round(0.2 * 162) would be 32
    assert float(gamma) == np.percentile(h, 80.0)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_num_unreliable_pixels_matches_numpy_count(dtype):
    """Direct check of the count on sorted distinct values (float32 values
    are compared with NumPy on their float64 value)."""
    rng = np.random.default_rng(1)
    for n, alpha in [(n, a) for n in range(1, 90) for a in ALPHAS] + _float_edge_cases(150):
        vals = torch.from_numpy(np.sort(rng.random(n))).to(dtype)
        h = vals.double().numpy()
        if len(np.unique(h)) < n:
            continue
        exp = int((h >= np.percentile(h, 100 * (1 - alpha))).sum())
        assert num_unreliable_pixels(vals, alpha) == exp, (n, alpha)
    assert num_unreliable_pixels(torch.rand(10), 0.0) == 0
    assert num_unreliable_pixels(torch.zeros(0), 0.3) == 0
    # ties (a saturated teacher): the count of distinct values, not the tied group
    assert num_unreliable_pixels(torch.zeros(162), 0.2) == 33


@pytest.mark.parametrize('n', [1, 2, 7, 11, 101, 162])
def test_percentile_bit_identical_to_numpy_float64(n):
    rng = np.random.default_rng(200 + n)
    vals = rng.random(n)
    for q in PERCENTILES + [100 * (1 - a) for a in ALPHAS]:
        assert float(entropy_percentile(torch.from_numpy(vals), float(q))) == \
            np.percentile(vals, q), (n, q)


@pytest.mark.parametrize('n', [1, 2, 5, 9, 126, 1001])
@pytest.mark.parametrize('alpha', [0.0, 0.05, 0.2, 0.25, 0.5, 0.9])
def test_count_and_threshold_from_one_read_equal_the_two_functions(n, alpha):
    # the pseudo-labelling step takes k and gamma from the same reads of the
    # sorted entropies (no second sort); both must equal what
    # num_unreliable_pixels and np.percentile give, with ties and for
    # positions that fall exactly on a rank (n = 5, alpha = 0.25: frac = 0)
    from mmseg_u2pl.models.utils.pseudo_labeling import _unreliable_count_and_threshold
    gen = torch.Generator().manual_seed(n)
    vals = torch.rand(n, generator=gen, dtype=torch.float64)
    vals[: n // 3] = vals[0]  # ties
    sorted_vals = vals.sort().values
    k, gamma = _unreliable_count_and_threshold(sorted_vals, alpha)
    assert k == num_unreliable_pixels(sorted_vals, alpha)
    if alpha == 0:
        assert k == 0 and math.isinf(gamma)
    else:
        assert gamma == float(entropy_percentile(sorted_vals, 100.0 * (1.0 - alpha)))
        assert gamma == np.percentile(sorted_vals.numpy(), 100.0 * (1.0 - alpha))
