# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Entropy-based pseudo-labelling of U2PL (Sec. 3.2, Eq. 5-8).

Written once and shared by every method that filters teacher predictions by entropy.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from ...utils.precision import float32

__all__ = [
    'pixel_entropy', 'entropy_percentile', 'num_unreliable_pixels',
    'entropy_threshold_pseudo_labels', 'adaptive_unsup_weight', 'linear_unreliable_ratio'
]


@float32
def pixel_entropy(probs: Tensor, dim: int = 1) -> Tensor:
    """Per-pixel entropy H(p) = -sum_c p(c) log p(c) (Eq. 5).

    Args:
        probs (Tensor): Softmax probabilities, classes along ``dim``.
        dim (int): The class dimension. Defaults to 1.

    Returns:
        Tensor: Entropy with ``dim`` removed. ``0 * log 0`` is taken as 0.
    """
    return -torch.xlogy(probs, probs).sum(dim=dim)


def _linear_percentile_position(n: int, q: float) -> Tuple[int, float]:
    """Where ``np.percentile(x, q)`` (method 'linear') reads a sorted ``x``.

    Mirrors NumPy's float64 arithmetic: the virtual index is
    ``(n - 1) * (q / 100)``; the result interpolates between ``x[lo]`` and
    ``x[lo + 1]`` with weight ``frac``. Positions at or past the end read
    the largest value (``lo = n - 1``, ``frac = 0``).

    Returns:
        tuple: ``(lo, frac)``.
    """
    pos = (n - 1) * (q / 100.0)
    if pos >= n - 1:
        return n - 1, 0.0
    lo = math.floor(pos)
    return lo, pos - lo


def _linear_interpolation(a: float, b: float, t: float) -> float:
    """NumPy's ``_lerp`` in float64: ``a + (b - a) t`` for ``t < 0.5``,
    ``b - (b - a)(1 - t)`` otherwise (bit-identical to ``np.percentile``)."""
    diff = b - a
    return a + diff * t if t < 0.5 else b - diff * (1.0 - t)


def entropy_percentile(values: Tensor, q: float) -> Tensor:
    """The ``q``-th percentile (0-100) of ``values``, as ``np.percentile``.

    Uses linear interpolation between the two nearest ranks, like NumPy's
    default, with NumPy's float64 arithmetic (bit-identical for float64
    input); unlike ``torch.quantile`` it has no input-size limit.

    Args:
        values (Tensor): Any shape; flattened. Must not be empty.
        q (float): Percentile in [0, 100].

    Returns:
        Tensor: A 0-d tensor of ``values.dtype`` on ``values.device``.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f'percentile q must be in [0, 100], got {q}')
    flat = values.reshape(-1)
    if flat.numel() == 0:
        raise ValueError('entropy_percentile got an empty tensor')
    lo, frac = _linear_percentile_position(flat.numel(), q)
    sorted_vals = flat.sort().values
    value = float(sorted_vals[lo])
    if frac > 0:
        value = _linear_interpolation(value, float(sorted_vals[lo + 1]), frac)
    return flat.new_tensor(value)


def num_unreliable_pixels(sorted_entropy: Tensor, alpha: float) -> int:
    """How many of ``n`` pixels Eq. 6 declares unreliable, by rank.

    The paper's rule is ``H >= gamma`` with ``gamma = np.percentile(H,
    100 (1 - alpha))`` (linear interpolation). Its virtual index is
    ``pos = (n - 1)(1 - alpha)``; for distinct entropies the set
    ``{H >= gamma}`` holds the pixels of rank ``>= ceil(pos)`` (ascending), so
    ``k = n - ceil(pos) = 1 + floor(alpha (n - 1))`` pixels, e.g. 33 (not
    ``round(0.2 * 162) = 32``) for ``n = 162, alpha = 0.2``. The count is
    taken from NumPy's float64 arithmetic, so it equals
    ``|{H >= np.percentile(H, 100 (1 - alpha))}|`` exactly for distinct
    entropies, also where the interpolated threshold rounds onto the lower
    neighbour. With ties at the boundary it is the count of distinct
    entropies in the same ranks (ties never make the whole tied group
    unreliable). ``alpha = 0`` filters nothing (``k = 0``; the literal rule
    would drop the single largest entropy).

    Args:
        sorted_entropy (Tensor): (n,) entropies, ascending.
        alpha (float): alpha_t in [0, 1).

    Returns:
        int: k, the number of highest-ranked pixels that are unreliable.
    """
    return _unreliable_count_and_threshold(sorted_entropy, alpha)[0]


def _unreliable_count_and_threshold(sorted_entropy: Tensor, alpha: float
                                    ) -> Tuple[int, float]:
    """``(k, gamma)``: :func:`num_unreliable_pixels` and the threshold
    ``gamma = np.percentile(H, 100 (1 - alpha))`` (NumPy's float64 value),
    from the same one or two reads of the sorted entropies: the pseudo-
    labelling step neither sorts again nor synchronises again for gamma.
    ``alpha = 0`` gives ``(0, inf)``."""
    n = sorted_entropy.numel()
    if alpha == 0 or n == 0:
        return 0, math.inf
    lo, frac = _linear_percentile_position(n, 100.0 * (1.0 - alpha))
    if frac == 0:
        return n - lo, float(sorted_entropy[lo])  # gamma = H_(lo): ranks lo .. n - 1
    a, b = float(sorted_entropy[lo]), float(sorted_entropy[lo + 1])
    gamma = _linear_interpolation(a, b, frac)
    # gamma in (a, b]: ranks lo + 1 ..; rounded onto a distinct a: ranks lo ..
    return n - lo - 1 + int(a < b and gamma <= a), gamma


@float32
def entropy_threshold_pseudo_labels(
        probs: Tensor,
        alpha: float,
        valid: Optional[Tensor] = None,
        ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Hard pseudo-labels with the top-``alpha`` entropy pixels ignored (Eq. 6).

    The paper defines the unreliable pixels as those "whose entropy is on top
    alpha_t" and implements it as ``H >= gamma_t`` with
    ``gamma_t = np.percentile(H, 100 * (1 - alpha_t))``. For distinct
    entropies the unreliable set here is exactly that set (its size,
    ``1 + floor(alpha (n - 1))`` for ``n`` valid pixels, is derived in
    :func:`num_unreliable_pixels`). Ties are handled by rank: a confident
    teacher saturates the softmax so that many pixels have entropy exactly 0;
    the threshold is then 0 and the literal comparison would reject *every*
    pixel. Instead the same number of highest-entropy pixels is unreliable,
    the rest reliable, and ties are broken at random (a fixed order would
    always drop the same image region of a saturated teacher).
    ``alpha = 0`` filters nothing. ``gamma_t`` is returned for logging.

    Args:
        probs (Tensor): (B, C, H, W) teacher probabilities.
        alpha (float): Fraction alpha_t in [0, 1) of unreliable pixels.
        valid (Tensor, optional): (B, H, W) bool mask of real (non-padded)
            pixels. Invalid pixels are ignored and excluded from the ranking.
        ignore_index (int): Label value of ignored pixels.

    Returns:
        tuple: ``(pseudo_label, entropy, reliable, gamma)`` where
        ``pseudo_label`` is (B, H, W) long with ``ignore_index`` on
        unreliable or invalid pixels, ``entropy`` is (B, H, W),
        ``reliable`` the (B, H, W) bool mask of kept pixels and ``gamma``
        the 0-d percentile threshold (``inf`` when nothing is filtered).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f'alpha (unreliable ratio) must be in [0, 1), got {alpha}')
    entropy = pixel_entropy(probs, dim=1)
    label = probs.argmax(dim=1)
    if valid is None:
        valid = torch.ones_like(label, dtype=torch.bool)
    n = int(valid.sum())
    if alpha > 0 and n > 0:
        ent_valid = entropy[valid]
        # random order among equal entropies: shuffle, then stable sort
        perm = torch.randperm(n, device=probs.device)
        sorted_ent, idx = torch.sort(ent_valid[perm], stable=True)
        order = perm[idx]
        num_unreliable, gamma = _unreliable_count_and_threshold(sorted_ent, alpha)
        # = entropy_percentile(H, 100 (1 - alpha)); a fill, not an upload (no sync)
        gamma = torch.full((), gamma, dtype=sorted_ent.dtype, device=sorted_ent.device)
        keep = torch.zeros(n, dtype=torch.bool, device=probs.device)
        keep[order[:n - num_unreliable]] = True
        reliable = torch.zeros_like(valid)
        reliable[valid] = keep
    else:
        gamma = torch.full((), math.inf, dtype=entropy.dtype, device=entropy.device)
        reliable = valid.clone()
    label = label.masked_fill(~reliable, ignore_index)
    return label, entropy, reliable, gamma


def adaptive_unsup_weight(pseudo_label: Tensor,
                          eta: float = 1.0,
                          ignore_index: int = 255,
                          valid: Optional[Tensor] = None) -> Tensor:
    """lambda_u = eta * (|B_u| * H * W) / #(pixels not ignored) (Eq. 8).

    lambda_u is the reciprocal of the fraction of reliable pixels. With a
    ``valid`` mask, padded pixels (which are no image content) are left out
    of ``|B_u| * H * W`` as well; without one, every pixel counts.

    Returns 0 when every pixel is ignored (the unsupervised loss is then
    empty and must contribute nothing).
    """
    kept = (pseudo_label != ignore_index).sum()
    total = pseudo_label.numel() if valid is None else valid.sum()
    return torch.where(kept > 0, eta * total / kept.clamp(min=1).to(torch.float32),
                       torch.zeros((), device=pseudo_label.device))


def linear_unreliable_ratio(alpha_0: float, epoch: float, total_epochs: float) -> float:
    """Dynamic Partition Adjustment: alpha_t = alpha_0 * (1 - t / T) (Eq. 7)."""
    if total_epochs <= 0:
        raise ValueError(f'total_epochs must be > 0, got {total_epochs}')
    return alpha_0 * max(0.0, 1.0 - epoch / total_epochs)
