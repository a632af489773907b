# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""DARS's distribution-aligned random sampling of pseudo-labels (He et al.,
"Re-distributing Biased Pseudo Labels for Semi-supervised Semantic
Segmentation: A Baseline Investigation", ICCV 2021), as small pure functions
used by tools/dars_pseudo_label.py.

Confidences are quantised to 16 bits (``NUM_BINS`` levels) so that the
per-class thresholds come from histograms: exact on the quantised values,
with no need to hold every pixel of the unlabeled set in memory. The
quantisation makes ties explicit, which the random sampling resolves.
"""
from typing import Tuple

import numpy as np

__all__ = ['NUM_BINS', 'quantize', 'target_counts', 'class_thresholds', 'sample_labels',
           'kl_divergence']

NUM_BINS = 65536


def quantize(conf: np.ndarray) -> np.ndarray:
    """Confidences in [0, 1] -> uint16 bins (``round(conf * 65535)``)."""
    return np.round(np.clip(conf, 0.0, 1.0) * (NUM_BINS - 1)).astype(np.uint16)


def target_counts(alpha: float, labeled_counts: np.ndarray, total_pixels: int) -> np.ndarray:
    """``n_j = alpha * share_j * total_pixels``, rounded: the pixels of class j
    to pseudo-label, with ``share_j`` the class's share of the valid labeled
    pixels and ``total_pixels`` the predicted pixels of the unlabeled set
    (pixels per image x images)."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f'the labeling ratio alpha must be in (0, 1], got {alpha}')
    counts = np.asarray(labeled_counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ValueError('the labeled split has no valid pixel: no class distribution')
    return np.round(alpha * counts / counts.sum() * total_pixels).astype(np.int64)


def class_thresholds(hist: np.ndarray, targets: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per class: the threshold bin ``t_j`` and the keep probability.

    ``t_j`` is the bin of the ``n_j``-th largest confidence among the pixels
    predicted as j (all of them, ``t_j = 0``, when there are fewer); a pixel
    at or above ``t_j`` is kept with probability ``min(1, n_j / #{conf >=
    t_j})``, which resolves the ties at ``t_j``. ``n_j = 0`` keeps nothing
    (``t_j = NUM_BINS``).

    Args:
        hist (np.ndarray): (C, NUM_BINS) pixel counts of predicted class j
            in confidence bin b.
        targets (np.ndarray): (C,) n_j.
    """
    C = hist.shape[0]
    t = np.zeros(C, dtype=np.int64)
    keep = np.zeros(C, dtype=np.float64)
    at_or_above = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # [j, b] = #{conf_bin >= b}
    for j in range(C):
        n = int(targets[j])
        total = int(at_or_above[j, 0])
        if n <= 0 or total == 0:
            t[j], keep[j] = NUM_BINS, 0.0
        elif n >= total:
            t[j], keep[j] = 0, 1.0
        else:
            t[j] = int(np.nonzero(at_or_above[j] >= n)[0].max())
            keep[j] = min(1.0, n / at_or_above[j, t[j]])
    return t, keep


def sample_labels(pred: np.ndarray, conf_bin: np.ndarray, thresholds: np.ndarray,
                  keep_prob: np.ndarray, rng: np.random.Generator,
                  ignore_index: int = 255) -> np.ndarray:
    """The pseudo-label map: ``pred`` where ``conf >= t_pred`` and a uniform
    draw falls below the keep probability of its class, else ignore."""
    keep = (conf_bin.astype(np.int64) >= thresholds[pred]) & \
        (rng.random(pred.shape) < keep_prob[pred])
    return np.where(keep, pred, ignore_index).astype(np.uint8)


def kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray, eps: float = 1e-12) -> float:
    """``KL(p || q) = sum_j p_j log(p_j / q_j)`` of two count vectors."""
    p = np.asarray(p_counts, np.float64)
    q = np.asarray(q_counts, np.float64)
    p, q = p / max(p.sum(), eps), q / max(q.sum(), eps)
    m = p > 0
    return float((p[m] * np.log(p[m] / np.maximum(q[m], eps))).sum())
