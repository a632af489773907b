# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Entropy-based pseudo-labelling of U2PL (Sec. 3.2, Eq. 5-8).

Written once and shared by every method that filters teacher predictions by entropy.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'pixel_entropy', 'entropy_percentile', 'entropy_threshold_pseudo_labels',
    'adaptive_unsup_weight', 'linear_unreliable_ratio'
]


def pixel_entropy(probs: Tensor, dim: int = 1) -> Tensor:
    """Per-pixel entropy H(p) = -sum_c p(c) log p(c) (Eq. 5).

    Args:
        probs (Tensor): Softmax probabilities, classes along ``dim``.
        dim (int): The class dimension. Defaults to 1.

    Returns:
        Tensor: Entropy with ``dim`` removed. ``0 * log 0`` is taken as 0.
    """
    return -torch.xlogy(probs, probs).sum(dim=dim)


def entropy_percentile(values: Tensor, q: float) -> Tensor:
    """The ``q``-th percentile (0-100) of ``values``, as ``np.percentile``.

    Uses linear interpolation between the two nearest ranks, like NumPy's
    default; unlike ``torch.quantile`` it has no input-size limit.

    Args:
        values (Tensor): Any shape; flattened. Must not be empty.
        q (float): Percentile in [0, 100].

    Returns:
        Tensor: A 0-d tensor on ``values.device``.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f'percentile q must be in [0, 100], got {q}')
    flat = values.reshape(-1)
    if flat.numel() == 0:
        raise ValueError('entropy_percentile got an empty tensor')
    sorted_vals = flat.sort().values
    pos = (flat.numel() - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, flat.numel() - 1)
    frac = pos - lo
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * frac


def entropy_threshold_pseudo_labels(
        probs: Tensor,
        alpha: float,
        valid: Optional[Tensor] = None,
        ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Hard pseudo-labels with the top-``alpha`` entropy pixels ignored (Eq. 6).

    The paper defines the unreliable pixels as those "whose entropy is on top
    alpha_t" and implements it as ``H >= gamma_t`` with
    ``gamma_t = np.percentile(H, 100 * (1 - alpha_t))``. The two agree when
    entropies are distinct, but a confident teacher saturates the softmax so
    that many pixels have entropy exactly 0; the threshold is then 0 and the
    strict comparison rejects *every* pixel. Here the definition is applied by
    rank: of the ``n`` valid pixels, the ``round(alpha * n)`` with the highest
    entropy are unreliable, the rest reliable; ties are broken at random (a
    fixed order would always drop the same image region of a saturated
    teacher). ``gamma_t`` is still returned (as the percentile) for logging.

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
    num_unreliable = int(math.floor(alpha * n + 0.5))
    if num_unreliable > 0:
        ent_valid = entropy[valid]
        gamma = entropy_percentile(ent_valid, 100.0 * (1.0 - alpha))
        # random order among equal entropies: shuffle, then stable sort
        perm = torch.randperm(n, device=probs.device)
        order = perm[torch.sort(ent_valid[perm], stable=True).indices]
        keep = torch.zeros(n, dtype=torch.bool, device=probs.device)
        keep[order[:n - num_unreliable]] = True
        reliable = torch.zeros_like(valid)
        reliable[valid] = keep
    else:
        gamma = entropy.new_tensor(float('inf'))
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
