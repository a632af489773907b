# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Entropy-based pseudo-labelling of U2PL (Sec. 3.2, Eq. 5-8).

Written once and shared by every method that filters teacher predictions by entropy.
"""
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
        valid: Tensor = None,
        ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Hard pseudo-labels with the top-``alpha`` entropy pixels ignored (Eq. 6).

    gamma_t = percentile(H, 100 * (1 - alpha)) over the valid pixels of the
    batch; a pixel keeps ``argmax p`` if ``H < gamma_t`` and is ignored
    otherwise. With ``alpha == 0`` every valid pixel is kept (no filtering).

    Args:
        probs (Tensor): (B, C, H, W) teacher probabilities.
        alpha (float): Fraction alpha_t in [0, 1) of unreliable pixels.
        valid (Tensor, optional): (B, H, W) bool mask of real (non-padded)
            pixels. Invalid pixels are ignored and excluded from gamma_t.
        ignore_index (int): Label value of ignored pixels.

    Returns:
        tuple: ``(pseudo_label, entropy, reliable, gamma)`` where
        ``pseudo_label`` is (B, H, W) long with ``ignore_index`` on
        unreliable or invalid pixels, ``entropy`` is (B, H, W),
        ``reliable`` the (B, H, W) bool mask of kept pixels and ``gamma``
        the 0-d threshold (``inf`` when nothing is filtered).
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f'alpha (unreliable ratio) must be in [0, 1), got {alpha}')
    entropy = pixel_entropy(probs, dim=1)
    label = probs.argmax(dim=1)
    if valid is None:
        valid = torch.ones_like(label, dtype=torch.bool)
    if alpha > 0 and valid.any():
        gamma = entropy_percentile(entropy[valid], 100.0 * (1.0 - alpha))
        reliable = valid & (entropy < gamma)
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
