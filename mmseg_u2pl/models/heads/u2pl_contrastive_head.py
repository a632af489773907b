# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Representation head g and contrastive loss L_c of U2PL (Sec. 3.3).

Equation numbers refer to Wang et al., "Semi-Supervised Semantic Segmentation
Using Unreliable Pseudo-Labels", CVPR 2022; L_b to its supplementary Sec. D.

The loss is split into pure functions so each equation can be checked alone:
:func:`u2pl_anchor_mask` (Eq. 9-11), :func:`u2pl_negative_mask` (Eq. 13-16),
:func:`class_positives` (Eq. 12), :func:`infonce_loss` (Eq. 4) and
:func:`binary_contrastive_loss` (L_b). :class:`U2PLContrastiveHead` holds the
representation head g and the steps of Algorithm 1: :meth:`~U2PLContrastiveHead.select`
(masks, positives, anchors), :meth:`~U2PLContrastiveHead.new_negatives` (for
the memory bank, which the segmentor owns and fills),
:meth:`~U2PLContrastiveHead.bank_negatives` /
:meth:`~U2PLContrastiveHead.in_batch_negatives` and
:meth:`~U2PLContrastiveHead.loss_from`.

Where the authors' public code departs from the paper (reference Sec. 3), the
head offers the authors' behaviour as named options, the paper staying the
default; ``reference='authors_code'`` switches all of them at once (see
:class:`U2PLContrastiveHead`). :func:`batch_axis_onehot` re-implements the
authors' ``label_onehot``.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from ...utils.precision import float32
from ..utils.memory_bank import rank_within_class

__all__ = [
    'U2PLContrastiveHead', 'ContrastiveSelection', 'u2pl_anchor_mask', 'u2pl_negative_mask',
    'class_positives', 'infonce_loss', 'binary_contrastive_loss', 'class_indicator',
    'batch_axis_onehot', 'REFERENCE_DEFAULTS'
]

# Defaults of the options where the authors' code departs from the paper
# (reference Sec. 3), per value of ``U2PLContrastiveHead(reference=...)``.
REFERENCE_DEFAULTS = dict(
    paper=dict(
        num_anchors=50,
        num_negatives=256,
        sample_with_replacement=False,
        batch_axis_onehot=False,
        labeled_negatives=True,
        negatives_need_pseudo_label=False,
        positive_with_threshold=True,
        average_over_present_classes=False),
    authors_code=dict(
        num_anchors=256,
        num_negatives=50,
        sample_with_replacement=True,
        batch_axis_onehot=True,
        labeled_negatives=False,
        negatives_need_pseudo_label=True,
        positive_with_threshold=False,
        average_over_present_classes=True))


def class_indicator(labels: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """(P, C) bool ``[y_j = c]``; all False where ``y_j`` is ``ignore_index``
    or out of range."""
    valid = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    return F.one_hot(torch.where(valid, labels, 0), num_classes).bool() & valid[:, None]


def batch_axis_onehot(labels: Tensor, num_classes: int, ignore_index: int = 255,
                      valid: Optional[Tensor] = None) -> Tensor:
    """The authors' ``label_onehot`` (``u2pl/utils/utils.py``) of one group of
    images: a one-hot scattered along the *batch* axis.

    Their code maps ``ignore_index`` to class 0, scatters the (B, 1, h, w)
    labels into a (C, B, h, w) zero tensor along dim 0 (so every image writes
    into batch slot 0) and finally zeroes every pixel whose own label is
    ``ignore_index``. Hence, with B > 1 images:

    - image 0, pixel x: ``{labels[b, x] : b}`` (ignored labels of the other
      images count as class 0), or nothing where image 0's own label is
      ignored;
    - images 1 .. B-1: nothing.

    Here ``valid`` (real pixels) removes batch padding from the union, as
    padding is ignored everywhere in this package (the authors pad labels
    with class 0); with ``valid=None`` every pixel is real.

    Args:
        labels (Tensor): (B, h, w) long.
        num_classes (int): C.
        ignore_index (int): Ignored label value.
        valid (Tensor, optional): (B, h, w) bool, real pixels.

    Returns:
        Tensor: (B, C, h, w) bool.
    """
    B, h, w = labels.shape
    out = labels.new_zeros((B, num_classes, h, w), dtype=torch.bool)
    if B == 0:
        return out
    known = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    real = torch.ones_like(known) if valid is None else valid.bool()
    # ignored (or out-of-range) labels of real pixels are written as class 0
    onehot = F.one_hot(torch.where(known, labels, 0), num_classes).bool() & real[..., None]
    out[0] = onehot.any(0).permute(2, 0, 1) & known[0]
    return out


def u2pl_anchor_mask(labels: Tensor, probs: Tensor, num_classes: int,
                     positive_threshold: float = 0.3,
                     ignore_index: int = 255) -> Tensor:
    """Candidate anchors per class (Eq. 9-11).

    Pixel j is an anchor of class c if its label (ground truth for labeled
    pixels, reliable pseudo-label for unlabeled ones; ``ignore_index``
    elsewhere) is c and the teacher's p_j(c) > delta_p.

    Args:
        labels (Tensor): (P,) long.
        probs (Tensor): (P, C) teacher probabilities.

    Returns:
        Tensor: (P, C) bool.
    """
    return class_indicator(labels, num_classes, ignore_index) & (probs > positive_threshold)


def _topk_membership(probs: Tensor, k: int) -> Tensor:
    """(P, C) bool: class c is among the k most probable classes of pixel j,
    i.e. its rank O_j(c) < k (O_j = argsort of p_j, descending)."""
    k = max(0, min(k, probs.shape[1]))
    member = torch.zeros_like(probs, dtype=torch.bool)
    if k > 0:
        member.scatter_(1, probs.topk(k, dim=1).indices, True)
    return member


def u2pl_negative_mask(labels: Tensor,
                       probs: Tensor,
                       is_labeled: Tensor,
                       unreliable: Tensor,
                       low_rank: int = 3,
                       high_rank: int = 20,
                       use_rank_threshold: bool = True,
                       ignore_index: int = 255) -> Tensor:
    """Qualified negatives n_j(c) (Eq. 13-16).

    - labeled pixel (Eq. 14): ``y_j != c`` and ``0 <= O_j(c) < r_l``; pixels
      whose ground truth is ``ignore_index`` are never negatives (their class
      is unknown).
    - unlabeled pixel (Eq. 15): ``unreliable_j`` and ``r_l <= O_j(c) < r_h``.

    With ``use_rank_threshold=False`` (the "w/o PRT" ablation, Tab. 6) the
    rank conditions become ``y_j != c`` (labeled) and ``O_j(c) != 0``
    (unlabeled: any class but the predicted one).

    Args:
        labels (Tensor): (P,) ground truth of labeled pixels (values of
            unlabeled pixels are not used).
        probs (Tensor): (P, C) teacher probabilities.
        is_labeled (Tensor): (P,) bool.
        unreliable (Tensor): (P,) bool, the pixels allowed as unlabeled
            negatives (by default H > gamma_t).

    Returns:
        Tensor: (P, C) bool.
    """
    num_classes = probs.shape[1]
    valid = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    not_gt = ~class_indicator(labels, num_classes, ignore_index) & valid[:, None]
    if use_rank_threshold:
        top_low = _topk_membership(probs, low_rank)
        neg_l = not_gt & top_low
        neg_u = _topk_membership(probs, high_rank) & ~top_low
    else:
        neg_l = not_gt
        neg_u = ~_topk_membership(probs, 1)
    neg_u = neg_u & unreliable[:, None]
    return torch.where(is_labeled[:, None], neg_l, neg_u)


def class_positives(anchor_mask: Tensor, feats: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-class centre z_c^+ of all candidate anchors (Eq. 12).

    Args:
        anchor_mask (Tensor): (P, C) bool from :func:`u2pl_anchor_mask`.
        feats (Tensor): (P, D) features (the teacher's, no grad).

    Returns:
        tuple: (C, D) centres (zeros for classes without anchors) and the
        (C,) number of anchors per class.
    """
    m = anchor_mask.to(feats.dtype)
    counts = m.sum(0)
    return (m.t() @ feats) / counts.clamp(min=1)[:, None], counts


def _similarities(anchors: Tensor, positives: Tensor, negatives: Tensor, temperature: float,
                  negatives_normalized: bool = False) -> Tuple[Tensor, Tensor]:
    a = F.normalize(anchors, dim=-1)
    pos = (a * F.normalize(positives, dim=-1)[:, None]).sum(-1) / temperature
    if not negatives_normalized:
        negatives = F.normalize(negatives, dim=-1)
    neg = torch.einsum('cmd,cmnd->cmn', a, negatives) / temperature
    return pos, neg


def _masked_class_mean(per_anchor: Tensor, valid: Tensor, anchors: Tensor,
                       num_present: Optional[Tensor] = None) -> Tensor:
    """Mean over anchors per class, then over classes with >= 1 valid anchor.

    With ``num_present`` (as the authors' code) the sum of the per-class
    means is divided by ``num_present`` instead, and the loss is 0 when
    ``num_present <= 1``.

    Returns an exact zero still attached to ``anchors`` when nothing is
    valid, so every rank of a DDP job backpropagates through the same graph.
    """
    valid = valid.to(per_anchor.dtype)
    n_per_class = valid.sum(1)
    has = n_per_class > 0
    per_class = (per_anchor * valid).sum(1) / n_per_class.clamp(min=1)
    total = (per_class * has).sum()
    if num_present is None:
        loss = total / has.sum().clamp(min=1)
    else:
        loss = torch.where(num_present > 1, total / num_present.clamp(min=1).to(total.dtype),
                           torch.zeros_like(total))
    return loss + anchors.sum() * 0


@float32
def infonce_loss(anchors: Tensor, positives: Tensor, negatives: Tensor,
                 valid: Tensor, temperature: float = 0.5,
                 negatives_normalized: bool = False,
                 num_present: Optional[Tensor] = None) -> Tensor:
    """Pixel InfoNCE L_c (Eq. 4) with cosine similarity <.,.>.

    -1/(C M) sum_c sum_i log[e^{<z_ci,z_c+>/tau} /
    (e^{<z_ci,z_c+>/tau} + sum_j e^{<z_ci,z_cij->/tau})]

    Args:
        anchors (Tensor): (C, M, D) anchor features z_ci (student, grad).
        positives (Tensor): (C, D) z_c^+.
        negatives (Tensor): (C, M, N, D) z_cij^-.
        valid (Tensor): (C, M) bool, which anchors count. The average runs
            over the valid anchors of each class, then over classes.
        temperature (float): tau.
        negatives_normalized (bool): The negatives are unit vectors already
            (as :class:`U2PLContrastiveHead` pushes them into the memory
            bank), so they are not normalised again (the largest tensor of
            the loss: C x M x N x D).
        num_present (Tensor, optional): Authors' code averaging: the 0-d
            number of classes present in the batch; the per-class means are
            summed and divided by it (0 if it is <= 1). ``None``: mean over
            the classes with a valid anchor.
    """
    pos, neg = _similarities(anchors, positives, negatives, temperature,
                             negatives_normalized)
    logits = torch.cat([pos[..., None], neg], dim=-1)
    per_anchor = torch.logsumexp(logits, dim=-1) - pos
    return _masked_class_mean(per_anchor, valid, anchors, num_present)


@float32
def binary_contrastive_loss(anchors: Tensor, positives: Tensor, negatives: Tensor,
                            valid: Tensor, temperature: float = 0.5,
                            negatives_normalized: bool = False,
                            num_present: Optional[Tensor] = None) -> Tensor:
    """Binary alternative L_b (supplementary Sec. D, Eq. 1).

    -1/(C M N) sum_c sum_i sum_j log[e^{<z_ci,z_c+>/tau} /
    (e^{<z_ci,z_c+>/tau} + e^{<z_ci,z_cij->/tau})]; arguments as
    :func:`infonce_loss`.
    """
    pos, neg = _similarities(anchors, positives, negatives, temperature,
                             negatives_normalized)
    per_anchor = F.softplus(neg - pos[..., None]).mean(-1)
    return _masked_class_mean(per_anchor, valid, anchors, num_present)


def _sample_per_class(mask: Tensor, num: int, replacement: bool) -> Tuple[Tensor, Tensor]:
    """Sample ``num`` indices of True rows of ``mask`` (P, C) for each class.

    Without replacement a class with fewer than ``num`` candidates gets all
    of them (the rest flagged invalid). Returns (C, num) indices and a
    (C, num) validity mask.
    """
    cand = mask.t()  # (C, P)
    count = cand.sum(1)
    if replacement:
        w = cand.to(torch.float32) + (count == 0)[:, None].to(torch.float32)
        idx = torch.multinomial(w, num, replacement=True)
        valid = (count > 0)[:, None].expand(-1, num)
        return idx, valid
    k = min(num, cand.shape[1])
    scores = torch.rand(cand.shape, device=mask.device).masked_fill(~cand, -1.0)
    top = scores.topk(k, dim=1)
    idx, valid = top.indices, top.values >= 0
    if k < num:
        pad = num - k
        idx = torch.cat([idx, idx.new_zeros(idx.shape[0], pad)], 1)
        valid = torch.cat([valid, valid.new_zeros(valid.shape[0], pad)], 1)
    return idx, valid


@dataclass
class ContrastiveSelection:
    """What :meth:`U2PLContrastiveHead.select` chose in one batch.

    Attributes:
        anchors (Tensor): (C, M, D) sampled student features (Eq. 9-11).
        anchor_valid (Tensor): (C, M) bool, real samples.
        positives (Tensor): (C, D) z_c^+ from the teacher (Eq. 12).
        teacher_unit (Tensor): (P, D) unit teacher features of every pixel.
        negative_mask (Tensor): (P, C) bool, candidate negatives (Eq. 13-16).
        num_present (Tensor, optional): classes present (authors' averaging).
    """
    anchors: Tensor
    anchor_valid: Tensor
    positives: Tensor
    teacher_unit: Tensor
    negative_mask: Tensor
    num_present: Optional[Tensor] = None


@MODELS.register_module()
class U2PLContrastiveHead(BaseModule):
    """Representation head g and contrastive loss of U2PL.

    g is two Conv-BN-ReLU blocks that keep the resolution; the first halves
    the channels, the second outputs ``channels`` (256). It maps the feature
    the segmentation classifier sees (the input of the decode head's
    ``cls_seg``), so it works with any ``BaseDecodeHead``.

    **Paper vs the authors' code.** The options marked (A) below default to
    the paper (``reference='paper'``). ``reference='authors_code'`` makes each
    of them default to what the authors' public code does (reference Sec. 3;
    values in :data:`REFERENCE_DEFAULTS`); an option given explicitly always
    wins over ``reference``.

    Args:
        in_channels (int): Channels of the decoder feature. ``None``: taken
            from the wrapped decode head's ``channels`` by the segmentor.
        num_classes (int): C. ``None``: taken from the decode head.
        channels (int): Representation dimension. Defaults to 256.
        reference (str): 'paper' (default) or 'authors_code': the defaults
            of the (A) options.
        num_anchors (int, optional): (A) M, anchors sampled per class. Paper
            50; authors' code 256.
        num_negatives (int, optional): (A) N, negatives per anchor. Paper
            256; authors' code 50.
        temperature (float): tau. Defaults to 0.5.
        positive_threshold (float): delta_p. Defaults to 0.3.
        low_rank (int): r_l. Defaults to 3.
        high_rank (int): r_h. Defaults to 20.
        loss_type (str): 'infonce' (L_c, Eq. 4) or 'binary' (L_b).
        loss_weight (float): lambda_c. Defaults to 0.1.
        use_rank_threshold (bool): PRT of Tab. 6. Defaults to True.
        negatives_from (str): Which unlabeled pixels may be negatives:
            'unreliable' (H > gamma_t, the paper), 'reliable' (the reliable
            pseudo-labelled pixels) or 'all' (every real unlabeled pixel;
            batch padding never) (Tab. 6, supplementary Tab. A2). Defaults
            to 'unreliable'.
        sample_with_replacement (bool, optional): (A) Sample anchors with
            replacement. Paper: False (M distinct anchors, all if fewer);
            authors' code: True.
        batch_axis_onehot (bool, optional): (A) Authors' code
            (``label_onehot`` scatters along the batch axis, a bug): the label
            indicator ``[y_j = c]`` of L_c is :func:`batch_axis_onehot`, taken
            separately over the labeled and the unlabeled images. With more
            than one image of a kind per GPU, its first image carries the
            union of all their labels and the others none, so anchors,
            positives, the classes present and (with
            ``negatives_need_pseudo_label``) unlabeled negatives come from the
            first images only. For unlabeled images the union is over the
            pseudo-labels before the entropy filter (``pseudo_labels`` of
            :meth:`loss`), masked by the first image's own reliable pixels
            for anchors. Eq. 14 (labeled negatives) keeps each pixel's own
            label. Paper: False.
        labeled_negatives (bool, optional): (A) Labeled pixels may be
            negatives (Eq. 14). Authors' code: False (their mask requires
            ``label == c`` and ``label != c`` at once, so it is always empty).
            Paper: True.
        negatives_need_pseudo_label (bool, optional): (A) Authors' code: an
            unlabeled negative of class c must also have pseudo-label c (the
            argmax before the entropy filter; under ``batch_axis_onehot`` the
            union of the first image). With pseudo-labels and ranks from one
            teacher this set is nearly empty (rank 0 vs ``rank >= r_l``).
            Paper (Eq. 15): False.
        positive_with_threshold (bool, optional): (A) z_c^+ is the mean of
            the anchors A_c, i.e. with p(c) > delta_p (Eq. 12). Authors' code:
            False, the mean over all pixels with label c (ground truth, or a
            reliable pseudo-label), without delta_p.
        average_over_present_classes (bool, optional): (A) Authors' code: L_c
            is 0 when at most one class is present in the batch (a pixel with
            label c, as for the positive without delta_p); otherwise the
            per-class losses are summed and divided by the number of classes
            present, including those skipped for lack of anchors or
            negatives. Paper (1/(C M) of Eq. 4): False, the mean over the
            classes that have anchors and negatives.
        max_push_per_class (int, optional): Cap on new negatives pushed per
            class and step on each rank (random subset). ``None`` pushes all
            (the paper's FIFO; the queue then keeps the newest).
        norm_cfg (dict): Norm layer of g. Defaults to SyncBN.
        ignore_index (int): Ignored label value. Defaults to 255.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 channels: int = 256,
                 reference: str = 'paper',
                 num_anchors: Optional[int] = None,
                 num_negatives: Optional[int] = None,
                 temperature: float = 0.5,
                 positive_threshold: float = 0.3,
                 low_rank: int = 3,
                 high_rank: int = 20,
                 loss_type: str = 'infonce',
                 loss_weight: float = 0.1,
                 use_rank_threshold: bool = True,
                 negatives_from: str = 'unreliable',
                 sample_with_replacement: Optional[bool] = None,
                 batch_axis_onehot: Optional[bool] = None,
                 labeled_negatives: Optional[bool] = None,
                 negatives_need_pseudo_label: Optional[bool] = None,
                 positive_with_threshold: Optional[bool] = None,
                 average_over_present_classes: Optional[bool] = None,
                 max_push_per_class: Optional[int] = None,
                 norm_cfg: ConfigType = dict(type='SyncBN', requires_grad=True),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 ignore_index: int = 255,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg=init_cfg)
        if in_channels is None or num_classes is None:
            raise ValueError('U2PLContrastiveHead needs in_channels and num_classes '
                             '(U2PLSemiSegmentor fills them from the decode head)')
        if reference not in REFERENCE_DEFAULTS:
            raise ValueError(f'U2PLContrastiveHead reference must be one of '
                             f'{sorted(REFERENCE_DEFAULTS)}, got {reference!r}')
        if loss_type not in ('infonce', 'binary'):
            raise ValueError(f"loss_type must be 'infonce' or 'binary', got {loss_type!r}")
        if negatives_from not in ('unreliable', 'reliable', 'all'):
            raise ValueError("negatives_from must be 'unreliable', 'reliable' or 'all', "
                             f'got {negatives_from!r}')
        if not 0 <= low_rank < high_rank:
            raise ValueError(f'contrastive_head: need 0 <= low_rank < high_rank, got '
                             f'low_rank={low_rank}, high_rank={high_rank}')
        if use_rank_threshold and low_rank >= num_classes:
            raise ValueError(
                f'contrastive_head.low_rank r_l={low_rank} >= num_classes={num_classes}: no '
                'unlabeled pixel could ever be a negative; lower r_l (and r_h), e.g. '
                f'low_rank={max(0, num_classes // 3)}, high_rank={max(1, num_classes - 1)}')
        if not temperature > 0:
            raise ValueError(f'contrastive_head.temperature (tau) must be > 0, got {temperature}')
        if not 0.0 <= positive_threshold <= 1.0:
            raise ValueError(f'contrastive_head.positive_threshold (delta_p) must be in [0, 1], '
                             f'got {positive_threshold}')
        if loss_weight < 0:
            raise ValueError(f'contrastive_head.loss_weight (lambda_c) must be >= 0, '
                             f'got {loss_weight}')
        if int(channels) < 1:
            raise ValueError(f'contrastive_head.channels must be >= 1, got {channels}')
        if max_push_per_class is not None and int(max_push_per_class) < 1:
            raise ValueError(f'contrastive_head.max_push_per_class must be None or >= 1, '
                             f'got {max_push_per_class}')
        given = dict(num_anchors=num_anchors, num_negatives=num_negatives,
                     sample_with_replacement=sample_with_replacement,
                     batch_axis_onehot=batch_axis_onehot,
                     labeled_negatives=labeled_negatives,
                     negatives_need_pseudo_label=negatives_need_pseudo_label,
                     positive_with_threshold=positive_with_threshold,
                     average_over_present_classes=average_over_present_classes)
        self.reference = reference
        for key, value in given.items():
            setattr(self, key, REFERENCE_DEFAULTS[reference][key] if value is None else value)
        for key in ('num_anchors', 'num_negatives'):
            if int(getattr(self, key)) < 1:
                raise ValueError(f'contrastive_head.{key} must be >= 1, '
                                 f'got {getattr(self, key)}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.channels = channels
        self.temperature = temperature
        self.positive_threshold = positive_threshold
        self.low_rank = low_rank
        self.high_rank = high_rank
        self.loss_type = loss_type
        self.loss_weight = loss_weight
        self.use_rank_threshold = use_rank_threshold
        self.negatives_from = negatives_from
        self.max_push_per_class = max_push_per_class
        self.ignore_index = ignore_index
        self.projection = nn.Sequential(
            ConvModule(in_channels, in_channels // 2, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(in_channels // 2, channels, 3, padding=1,
                       norm_cfg=norm_cfg, act_cfg=act_cfg))

    def forward(self, feat: Tensor) -> Tensor:
        """Map the decoder feature (B, in_channels, h, w) to z (B, 256, h, w)."""
        return self.projection(feat)

    def loss(self,
             rep_student: Tensor,
             rep_teacher: Tensor,
             labels: Tensor,
             probs: Tensor,
             is_labeled: Tensor,
             unreliable: Tensor,
             memory_bank=None,
             pseudo_labels: Optional[Tensor] = None,
             valid: Optional[Tensor] = None) -> Tuple[Tensor, dict]:
        """L_c of Algorithm 1 for one batch, at the feature resolution.

        The composition of :meth:`select`, :meth:`new_negatives` (pushed into
        ``memory_bank``), :meth:`bank_negatives` or :meth:`in_batch_negatives`,
        and :meth:`loss_from`; :class:`U2PLSemiSegmentor` runs the same steps
        with the bank it owns.

        Args:
            rep_student (Tensor): (B, D, h, w) z of the student (anchors).
            rep_teacher (Tensor): (B, D, h, w) z of the teacher (positives
                and negatives, no grad).
            labels (Tensor): (B, h, w) ground truth (labeled images) or
                reliable pseudo-labels (unlabeled), ``ignore_index`` elsewhere.
            probs (Tensor): (B, C, h, w) teacher probabilities.
            is_labeled (Tensor): (B,) bool.
            unreliable (Tensor): (B, h, w) bool, unlabeled pixels with
                H > gamma_t (ignored for labeled images).
            memory_bank (ClassQueueMemoryBank, optional): Q_c; the new
                negatives are pushed as unit vectors. ``None`` samples
                negatives from this batch only (Tab. 6 "w/o Q_c").
            pseudo_labels (Tensor, optional): (B, h, w) the teacher's argmax
                before the entropy filter on unlabeled images
                (``ignore_index`` on padding; labeled images' values are not
                used). Needed by ``batch_axis_onehot`` and
                ``negatives_need_pseudo_label`` when the batch has unlabeled
                images.
            valid (Tensor, optional): (B, h, w) bool, real pixels (False on
                batch padding). Defaults to all True.

        Returns:
            tuple: the weighted loss ``lambda_c * L_c`` and a dict of
            statistics for logging.
        """
        sel = self.select(rep_student, rep_teacher, labels, probs, is_labeled, unreliable,
                          pseudo_labels, valid)
        if memory_bank is not None:
            memory_bank.push(*self.new_negatives(sel))
            negatives, has_neg = self.bank_negatives(sel, memory_bank)
        else:
            negatives, has_neg = self.in_batch_negatives(sel)
        return self.loss_from(sel, negatives, has_neg)

    def select(self,
               rep_student: Tensor,
               rep_teacher: Tensor,
               labels: Tensor,
               probs: Tensor,
               is_labeled: Tensor,
               unreliable: Tensor,
               pseudo_labels: Optional[Tensor] = None,
               valid: Optional[Tensor] = None) -> ContrastiveSelection:
        """Anchor and negative masks (Eq. 9-16), z_c^+ (Eq. 12) and M sampled
        anchors per class; the arguments are those of :meth:`loss`."""
        B, D = rep_student.shape[:2]
        C = self.num_classes
        if valid is None:
            valid = torch.ones_like(labels, dtype=torch.bool)
        needs_pseudo = self.batch_axis_onehot or self.negatives_need_pseudo_label
        if needs_pseudo and pseudo_labels is None and not bool(is_labeled.all()):
            raise ValueError(
                'U2PLContrastiveHead with batch_axis_onehot=True or '
                'negatives_need_pseudo_label=True needs `pseudo_labels` (the unfiltered '
                'pseudo-labels of the unlabeled images)')
        z_s = rep_student.permute(0, 2, 3, 1).reshape(-1, D)
        z_t = rep_teacher.detach().permute(0, 2, 3, 1).reshape(-1, D)
        y = labels.reshape(-1)
        p = probs.detach().permute(0, 2, 3, 1).reshape(-1, probs.shape[1])
        lab = is_labeled[:, None, None].expand_as(labels).reshape(-1)
        unrel = unreliable.reshape(-1)
        if self.negatives_from == 'reliable':
            unrel = (y != self.ignore_index) & ~lab
        elif self.negatives_from == 'all':
            unrel = valid.reshape(-1) & ~lab

        # [y_j = c] as L_c reads it: own label (paper) or the authors' batch-axis
        # one-hot; unlabeled images by their unfiltered pseudo-label where needed
        source = labels
        if needs_pseudo and pseudo_labels is not None:
            source = torch.where(is_labeled[:, None, None], labels, pseudo_labels)
        if self.batch_axis_onehot:
            indicator = torch.zeros((B, C) + tuple(labels.shape[1:]), dtype=torch.bool,
                                    device=labels.device)
            for group in (is_labeled, ~is_labeled):
                indicator[group] = batch_axis_onehot(source[group], C, self.ignore_index,
                                                     valid[group])
            indicator = indicator.permute(0, 2, 3, 1).reshape(-1, C)
        else:
            indicator = class_indicator(source.reshape(-1), C, self.ignore_index)
        # pixels with label c: labeled with a known ground truth, unlabeled reliable
        has_label = (y != self.ignore_index) & (y >= 0) & (y < C)
        labeled_c = indicator & has_label[:, None]
        anchor_mask = labeled_c & (p > self.positive_threshold)  # Eq. 9-11
        neg_mask = u2pl_negative_mask(y, p, lab, unrel, self.low_rank, self.high_rank,
                                      self.use_rank_threshold, self.ignore_index)
        if not self.labeled_negatives:
            neg_mask = neg_mask & ~lab[:, None]
        if self.negatives_need_pseudo_label:
            neg_mask = neg_mask & (lab[:, None] | indicator)
        positives, _ = class_positives(
            anchor_mask if self.positive_with_threshold else labeled_c, z_t)
        M = self.num_anchors
        a_idx, a_valid = _sample_per_class(anchor_mask, M, self.sample_with_replacement)
        # negatives are compared by cosine: normalise the (P, D) teacher
        # features once, not the (C, M, N, D) sample (the bank keeps unit vectors)
        z_t_unit = F.normalize(z_t, dim=-1)
        num_present = labeled_c.any(0).sum() if self.average_over_present_classes else None
        return ContrastiveSelection(z_s[a_idx], a_valid, positives, z_t_unit, neg_mask,
                                    num_present)

    def new_negatives(self, sel: ContrastiveSelection) -> Tuple[Tensor, Tensor]:
        """This batch's negatives for Q_c: unit teacher features (K, D) and
        their classes (K,), capped per class by ``max_push_per_class``."""
        pix, cls = self._select_push(sel.negative_mask)
        return sel.teacher_unit[pix], cls

    def bank_negatives(self, sel: ContrastiveSelection, memory_bank) -> Tuple[Tensor, Tensor]:
        """N negatives per anchor from Q_c: (C, M, N, D) and the (C,) classes
        whose queue is not empty."""
        C, M, D = sel.anchors.shape
        classes = torch.arange(C, device=sel.anchors.device)
        negatives = memory_bank.sample(classes, M * self.num_negatives)
        return negatives.view(C, M, self.num_negatives, D), memory_bank.count > 0

    def in_batch_negatives(self, sel: ContrastiveSelection) -> Tuple[Tensor, Tensor]:
        """N negatives per anchor from this batch only (Tab. 6 "w/o Q_c")."""
        C, M, D = sel.anchors.shape
        N = self.num_negatives
        n_idx, n_valid = _sample_per_class(sel.negative_mask, M * N, replacement=True)
        return sel.teacher_unit[n_idx].view(C, M, N, D), n_valid[:, 0]

    def loss_from(self, sel: ContrastiveSelection, negatives: Tensor,
                  has_neg: Tensor) -> Tuple[Tensor, dict]:
        """``lambda_c * L_c`` (Eq. 4, or L_b) and logging statistics."""
        valid_anchor = sel.anchor_valid & has_neg[:, None]
        loss_fn = infonce_loss if self.loss_type == 'infonce' else binary_contrastive_loss
        loss = loss_fn(sel.anchors, sel.positives, negatives, valid_anchor, self.temperature,
                       negatives_normalized=True, num_present=sel.num_present)
        stats = dict(
            contrast_classes=(valid_anchor.any(1)).sum().to(torch.float32),
            contrast_negatives=sel.negative_mask.sum().to(torch.float32))
        return self.loss_weight * loss, stats

    def _select_push(self, neg_mask: Tensor) -> Tuple[Tensor, Tensor]:
        """(pixel, class) pairs of the new negatives, capped per class."""
        pix, cls = neg_mask.nonzero(as_tuple=True)
        cap = self.max_push_per_class
        if cap is not None and pix.numel() > 0:
            # random order, then keep the first `cap` of each class
            perm = torch.randperm(pix.numel(), device=pix.device)
            pix, cls = pix[perm], cls[perm]
            keep = rank_within_class(cls, self.num_classes)[0] < cap
            pix, cls = pix[keep], cls[keep]
        return pix, cls
