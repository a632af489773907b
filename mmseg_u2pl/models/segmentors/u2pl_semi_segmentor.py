# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""U2PL: Semi-Supervised Semantic Segmentation Using Unreliable Pseudo-Labels
(Wang et al., CVPR 2022). Equation numbers refer to the main paper."""
import copy
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from ...utils.semi_schedule import current_semi_schedule
from ..utils import (adaptive_unsup_weight, entropy_threshold_pseudo_labels,
                     linear_unreliable_ratio)
from .cutmix_seg import CutMixSegSegmentor
from .semi_base import SemiStep

__all__ = ['U2PLSemiSegmentor']


@MODELS.register_module()
class U2PLSemiSegmentor(CutMixSegSegmentor):
    """U2PL training around any MMSeg segmentor: CutMix-Seg plus what U2PL adds.

    One training step (Eq. 1): ``L = L_s + lambda_u L_u + lambda_c L_c``.
    The template (:meth:`SemiBaseSegmentor.loss`) runs the teacher on the
    unlabeled batch and CutMix (:class:`CutMixSegSegmentor`); U2PL adds:

    - :meth:`pseudo_label`: argmax of the mixed teacher probabilities with
      the top ``alpha_t`` entropy pixels ignored (Eq. 5, 6);
      ``alpha_t = alpha_0 (1 - t / T)`` per epoch t of the unlabeled set
      (Eq. 7, from the schedule that :class:`SemiScheduleHook` publishes;
      ``dynamic_partition=False`` keeps ``alpha_0``, Tab. 6 "w/o DPA");
    - :meth:`unsupervised_loss`: ``L_u``, cross-entropy against the reliable
      pseudo-labels, mean over kept pixels, weighted by
      ``lambda_u = eta * |B_u| H W / #kept`` (Eq. 3, 8);
    - :meth:`extra_losses`: ``L_c``, :class:`U2PLContrastiveHead` on the
      decoder feature, with teacher features of the same inputs for
      positives and negatives and the category-wise memory bank Q_c
      (Eq. 4, 9-16).

    ``L_s`` is the wrapped segmentor's decode (and auxiliary) losses on the
    labeled half (Eq. 2), so OHEM and auxiliary heads come from MMSeg.
    During the warm start the step is ``L_s`` only.

    Args:
        segmentor (dict): The wrapped MMSeg segmentor config.
        contrastive_head (dict, optional): :class:`U2PLContrastiveHead`
            config; ``None`` disables ``L_c`` (Tab. 6 without ``L_c``).
            ``in_channels``/``num_classes``/``ignore_index`` default to the
            decode head's.
        memory_bank (dict, optional): :class:`ClassQueueMemoryBank` config;
            ``None`` takes negatives from the current batch only.
        semi_train_cfg (dict): ``unsup_weight`` (eta, 1.0), ``alpha_0``
            (initial unreliable ratio, 0.2), ``dynamic_partition`` (Eq. 7,
            True), ``mixer`` (CutMix, probability 1, one box of half the
            image).
        semi_test_cfg (dict): ``predict_on``: 'teacher' (default) or
            'student'.
    """

    default_train_cfg = dict(unsup_weight=1.0, alpha_0=0.2, dynamic_partition=True,
                             mixer=dict(type='CutMix', prob=1.0, area=0.5))

    def __init__(self,
                 segmentor: ConfigType,
                 contrastive_head: OptConfigType = dict(type='U2PLContrastiveHead'),
                 memory_bank: OptConfigType = dict(type='ClassQueueMemoryBank'),
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 **kwargs):
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg, data_preprocessor,
                         init_cfg, **kwargs)
        alpha_0 = self.semi_train_cfg['alpha_0']
        if not 0.0 <= alpha_0 < 1.0:
            raise ValueError(f'semi_train_cfg.alpha_0 (initial unreliable ratio) must be '
                             f'in [0, 1), got {alpha_0}')
        if not isinstance(self.semi_train_cfg['dynamic_partition'], bool):
            raise ValueError('semi_train_cfg.dynamic_partition must be True or False, got '
                             f"{self.semi_train_cfg['dynamic_partition']!r}")
        decode_head = self.student.decode_head
        self.with_contrast = contrastive_head is not None
        if self.with_contrast:
            head_cfg = copy.deepcopy(dict(contrastive_head))
            for key, value in (('in_channels', decode_head.channels),
                               ('num_classes', self.num_classes),
                               ('ignore_index', self.ignore_index)):
                if head_cfg.get(key) is None:
                    head_cfg[key] = value
            for net in (self.student, self.teacher):
                net.add_module('contrastive_head', MODELS.build(head_cfg))
            self.teacher.contrastive_head.requires_grad_(False)
        self.memory_bank = None
        if self.with_contrast and memory_bank is not None:
            bank_cfg = copy.deepcopy(dict(memory_bank))
            bank_cfg.setdefault('num_classes', self.num_classes)
            bank_cfg.setdefault('dim', self.student.contrastive_head.channels)
            self.memory_bank = MODELS.build(bank_cfg)

    @property
    def alpha_t(self) -> float:
        """alpha_t of this iteration (Eq. 7) from the published schedule."""
        alpha_0 = self.semi_train_cfg['alpha_0']
        schedule = current_semi_schedule()
        if not self.semi_train_cfg['dynamic_partition'] or schedule.total_epochs <= 0:
            return alpha_0
        return linear_unreliable_ratio(alpha_0, schedule.epoch, schedule.total_epochs)

    def supervised_step(self, x_l: Tensor, ds_l: SampleList) -> Dict[str, Tensor]:
        feats, logits, dec_feat = self.decode(self.student, x_l)
        losses = self.supervised_losses(feats, logits, ds_l)
        if self.with_contrast:
            # keep every trainable parameter in the graph (DDP without
            # find_unused_parameters) with an exact zero
            zero = self.student.contrastive_head(dec_feat).sum() * 0
            losses['loss_contrast'] = zero
        return losses

    def pseudo_label(self, step: SemiStep) -> None:
        """Entropy partition (Eq. 5, 6) of the mixed teacher probabilities."""
        step.extra['alpha_t'] = alpha_t = self.alpha_t
        step.pseudo, _, step.reliable, _ = entropy_threshold_pseudo_labels(
            step.probs_u, alpha_t, step.valid_u, self.ignore_index)

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        """L_u (Eq. 3) with the adaptive weight lambda_u (Eq. 8)."""
        logits_u = self.student_logits_u(step)
        ce = F.cross_entropy(logits_u, step.pseudo, ignore_index=self.ignore_index,
                             reduction='sum')
        kept = step.reliable.sum()
        lambda_u = adaptive_unsup_weight(step.pseudo, self.semi_train_cfg['unsup_weight'],
                                         self.ignore_index, step.valid_u)
        return dict(
            loss_unsup=lambda_u * ce / kept.clamp(min=1),
            unsup_weight=lambda_u.detach(),
            reliable_ratio=(kept / step.valid_u.sum().clamp(min=1)).detach().float(),
            alpha_t=torch.full((), float(step.extra['alpha_t']), device=step.x_u.device))

    def extra_losses(self, step: SemiStep) -> Dict[str, Tensor]:
        """L_c (Eq. 4, 9-16)."""
        if not self.with_contrast:
            return {}
        pseudo, reliable = self.contrastive_targets(step)
        return self._contrastive_loss(torch.cat([step.x_l, step.x_u]), step.num_labeled,
                                      step.ds_l, step.dec_feat, step.probs_u, pseudo,
                                      reliable, step.valid_u)

    def contrastive_targets(self, step: SemiStep) -> Tuple[Tensor, Tensor]:
        """Pseudo-labels and reliable mask that ``L_c`` uses: this step's
        entropy partition (a method composed with U2PL may keep its own for
        ``L_u``)."""
        return step.pseudo, step.reliable

    def _contrastive_loss(self, x_all: Tensor, B_l: int, ds_l: SampleList, dec_feat: Tensor,
                          probs_u: Tensor, pseudo: Tensor, reliable: Tensor,
                          valid_u: Tensor) -> Dict[str, Tensor]:
        """L_c with anchors from the student and positives/negatives from the
        teacher on the same inputs (Algorithm 1), at the feature resolution."""
        head = self.student.contrastive_head
        rep_s = head(dec_feat)
        with torch.no_grad():
            _, logits_t, dec_feat_t = self.decode(self.teacher, x_all)
            rep_t = self.teacher.contrastive_head(dec_feat_t)
            size = rep_s.shape[-2:]
            probs_l = self.resize_like(logits_t[:B_l].float(), size,
                                      self.align_corners).softmax(1)
            probs_u_full = probs_u
            probs_u = self.resize_like(probs_u, size, self.align_corners)
            gt = torch.stack([ds.gt_sem_seg.data[0] for ds in ds_l]).long()
            labels = torch.cat([self.labels_to(gt, size), self.labels_to(pseudo, size)])
            # the teacher's argmax before the entropy filter (authors'-code options)
            argmax_u = probs_u_full.argmax(1).masked_fill(~valid_u, self.ignore_index)
            pseudo_all = torch.cat([labels[:B_l], self.labels_to(argmax_u, size)])
            valid_l = self.valid_mask(ds_l, tuple(x_all.shape[-2:]), x_all.device)
            valid = self.labels_to(torch.cat([valid_l, valid_u]).long(), size).bool()
            unreliable_u = self.labels_to((valid_u & ~reliable).long(), size).bool()
            unreliable = torch.cat([unreliable_u.new_zeros((B_l, ) + tuple(size)),
                                    unreliable_u])
            is_labeled = torch.arange(x_all.shape[0], device=x_all.device) < B_l
        sel = head.select(rep_s, rep_t, labels, torch.cat([probs_l, probs_u]), is_labeled,
                          unreliable, pseudo_labels=pseudo_all, valid=valid)
        if self.memory_bank is not None:
            # Q_c is the segmentor's: push this batch's negatives, then sample
            self.memory_bank.push(*head.new_negatives(sel))
            negatives, has_neg = head.bank_negatives(sel, self.memory_bank)
        else:
            negatives, has_neg = head.in_batch_negatives(sel)
        loss, stats = head.loss_from(sel, negatives, has_neg)
        return dict(loss_contrast=loss, **stats)
