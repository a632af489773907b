# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Unsupervised losses of the semi-supervised methods, as pure functions."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ...utils.precision import float32

__all__ = [
    'pseudo_label_ce', 'softmax_mse', 'cross_pseudo_ce', 'weighted_pseudo_label_ce',
    'dynamic_soft_labels', 'soft_cross_entropy', 'anchor_infonce'
]


@float32
def pseudo_label_ce(logits: Tensor, pseudo: Tensor, ignore_index: int = 255) -> Tensor:
    """Cross-entropy against hard pseudo-labels, mean over the labelled pixels.

    ``sum_j CE(logits_j, pseudo_j) / #{j : pseudo_j != ignore}`` (0 when no
    pixel carries a pseudo-label): Mean Teacher's hard-label consistency, the
    unsupervised loss of CutMix-Seg and, weighted by lambda_u, U2PL's L_u
    (Eq. 3).

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        pseudo (Tensor): (B, H, W) long, ``ignore_index`` where unused.
    """
    ce = F.cross_entropy(logits, pseudo, ignore_index=ignore_index, reduction='sum')
    kept = (pseudo != ignore_index).sum()
    return ce / kept.clamp(min=1)


@float32
def softmax_mse(logits: Tensor, target_probs: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
    """Mean squared difference of the softmax outputs (classic Mean Teacher).

    ``sum_{j valid, c} (softmax(logits)_jc - p_jc)^2 / (C * #valid)``; the
    target gets no gradient.

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        target_probs (Tensor): (B, C, H, W) teacher probabilities.
        valid (Tensor, optional): (B, H, W) bool, pixels that count.
    """
    sq = (logits.softmax(1) - target_probs.detach()).pow(2)
    if valid is None:
        return sq.mean()
    mask = valid.unsqueeze(1).to(sq.dtype)
    return (sq * mask).sum() / (mask.sum() * sq.shape[1]).clamp(min=1)


@float32
def cross_pseudo_ce(logits_a: Tensor, logits_b: Tensor, valid: Optional[Tensor] = None,
                    ignore_index: int = 255) -> Tensor:
    """CPS's cross pseudo supervision: ``CE(P_a, argmax P_b) + CE(P_b, argmax P_a)``.

    Hard targets, no threshold, no gradient through the argmax; each CE is
    the mean over the valid pixels (CPS, Eq. 2 and 3).

    Args:
        logits_a, logits_b (Tensor): (B, C, H, W) logits of the two networks.
        valid (Tensor, optional): (B, H, W) bool, pixels that count.
    """
    with torch.no_grad():
        y_a = logits_a.argmax(1)
        y_b = logits_b.argmax(1)
        if valid is not None:
            y_a = y_a.masked_fill(~valid, ignore_index)
            y_b = y_b.masked_fill(~valid, ignore_index)
    return pseudo_label_ce(logits_a, y_b, ignore_index) + pseudo_label_ce(
        logits_b, y_a, ignore_index)


@float32
def weighted_pseudo_label_ce(logits: Tensor, pseudo: Tensor, weights: Tensor,
                             ignore_index: int = 255) -> Tensor:
    """Cross-entropy against hard pseudo-labels, each pixel weighted:
    ``sum_j w_j CE_j / sum_j w_j`` over the pixels that carry a pseudo-label
    (0 when none does). AEL's dynamic re-weighting uses
    ``w_j = (max_c p_jc)^gamma`` of the teacher (gamma = 2).

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        pseudo (Tensor): (B, H, W) long, ``ignore_index`` where unused.
        weights (Tensor): (B, H, W) non-negative weights (no gradient).
    """
    ce = F.cross_entropy(logits, pseudo, ignore_index=ignore_index, reduction='none')
    w = weights.detach().to(ce.dtype) * (pseudo != ignore_index)
    return (w * ce).sum() / w.sum().clamp(min=torch.finfo(ce.dtype).tiny)


@float32
def dynamic_soft_labels(probs: Tensor, eta: float = 0.95) -> Tensor:
    """ESL's dynamic soft label: per pixel, the smallest set of top classes
    whose cumulative probability reaches ``eta``, renormalised over that set
    and zero elsewhere (a one-hot label when the top-1 probability >= eta).

    Args:
        probs (Tensor): (B, C, H, W) teacher probabilities.
        eta (float): The cumulative-probability threshold (ESL: 0.95).
    """
    sorted_p, order = probs.sort(dim=1, descending=True)
    before = sorted_p.cumsum(1) - sorted_p  # mass of the classes ranked above
    keep_sorted = before < eta               # the top class is always kept
    keep = torch.zeros_like(keep_sorted).scatter(1, order, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(1, keepdim=True).clamp(min=torch.finfo(probs.dtype).tiny)


@float32
def soft_cross_entropy(logits: Tensor, targets: Tensor, valid: Optional[Tensor] = None
                       ) -> Tensor:
    """``-sum_c t_c log softmax(logits)_c``, mean over the valid pixels (0 when
    none); the targets get no gradient.

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        targets (Tensor): (B, C, H, W) soft labels (rows sum to 1).
        valid (Tensor, optional): (B, H, W) bool, pixels that count.
    """
    per_pixel = -(targets.detach() * logits.log_softmax(1)).sum(1)
    if valid is None:
        return per_pixel.mean()
    mask = valid.to(per_pixel.dtype)
    return (per_pixel * mask).sum() / mask.sum().clamp(min=1)


@float32
def anchor_infonce(anchors: Tensor, positives: Tensor, negatives: Tensor,
                   temperature: float = 0.5) -> Tensor:
    """InfoNCE of anchors against one positive and N negatives each, cosine
    similarity over ``temperature``, mean over the anchors (0 when none):
    ``-log e^{<a,p>/tau} / (e^{<a,p>/tau} + sum_n e^{<a,n>/tau})``.

    Args:
        anchors (Tensor): (A, D). positives (Tensor): (A, D).
        negatives (Tensor): (A, N, D).
    """
    if anchors.shape[0] == 0:
        return anchors.sum() * 0
    a = F.normalize(anchors, dim=-1)
    pos = (a * F.normalize(positives, dim=-1)).sum(-1) / temperature
    neg = torch.einsum('ad,and->an', a, F.normalize(negatives, dim=-1)) / temperature
    return (torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1) - pos).mean()
