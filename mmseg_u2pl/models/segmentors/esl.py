# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""ESL: Enhanced Soft Label for Semi-Supervised Semantic Segmentation (Ma et
al., ICCV 2023): dynamic soft labels and a pixel-to-part contrastive loss."""
import copy
from typing import Dict

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from ..losses import anchor_infonce, dynamic_soft_labels, soft_cross_entropy
from ..utils import ClassPartPrototypes, rank_within_class
from .cutmix_seg import CutMixSegSegmentor
from .semi_base import SemiStep

__all__ = ['ESLSegmentor']


class ESLProjector(nn.Sequential):
    """Three Conv-BN-ReLU layers (3 x 3, 1 x 1, 1 x 1; kernel sizes chosen)
    from the decoder feature to the ``channels``-d projector space."""

    def __init__(self, in_channels: int, channels: int = 512,
                 norm_cfg: ConfigType = dict(type='SyncBN', requires_grad=True)):
        super().__init__(
            ConvModule(in_channels, channels, 3, padding=1, norm_cfg=norm_cfg),
            ConvModule(channels, channels, 1, norm_cfg=norm_cfg),
            ConvModule(channels, channels, 1, norm_cfg=norm_cfg))


@MODELS.register_module()
class ESLSegmentor(CutMixSegSegmentor):
    """ESL: ``L = L_CE + lambda_1 L_SCE + lambda_2 L_CTR``.

    A mean teacher with CutMix (:class:`CutMixSegSegmentor`); what ESL adds:

    - :meth:`pseudo_label`: dynamic soft labels of the mixed teacher
      probabilities, the smallest set of top classes reaching ``eta`` (0.95),
      renormalised (:func:`dynamic_soft_labels`); pixels whose top-1 teacher
      probability exceeds ``anchor_threshold`` (0.95) also carry a hard label
      for the contrast.
    - :meth:`unsupervised_loss`: ``L_SCE``, the soft cross-entropy of the
      student on the mixed images (:func:`soft_cross_entropy`), weighted by
      ``unsup_weight`` = lambda_1 (0.2).
    - :meth:`extra_losses`: ``L_CTR``, pixel-to-part contrast in a projector
      space (:class:`ESLProjector` on both networks, the teacher's an EMA):
      K = 5 part prototypes per class (:class:`ClassPartPrototypes`), one
      FIFO queue per (class, part) of pooled teacher features
      (:class:`ClassQueueMemoryBank` with C * K queues). Anchors: a share
      ``anchor_ratio`` (10 %) of the student pixels of each class (labeled,
      or unlabeled above the threshold), at most ``max_anchors_per_class``;
      an anchor's part is that of the teacher feature at its pixel; its
      positive is drawn from its (class, part) queue, its
      ``num_negatives`` (255) negatives from the queues of the other classes;
      InfoNCE with cosine / ``temperature`` (0.5) (:func:`anchor_infonce`),
      weighted by ``contrast_weight`` = lambda_2 (0.1). After the loss the
      prototypes take an EMA step and the pooled features of this batch are
      pushed.

    Args:
        segmentor (dict): The wrapped MMSeg segmentor.
        projector (dict): ``channels`` (512) and ``norm_cfg`` of the projector.
        prototypes (dict): :class:`ClassPartPrototypes` settings
            (``num_parts`` 5, ``momentum`` 0.99).
        memory_bank (dict): :class:`ClassQueueMemoryBank` settings for the
            (class, part) queues (``length``: unstated by ESL; 256 chosen).
        semi_train_cfg (dict): ``unsup_weight`` (lambda_1, 0.2),
            ``soft_label_threshold`` (eta, 0.95), ``contrast_weight``
            (lambda_2, 0.1), ``anchor_ratio`` (0.1), ``anchor_threshold``
            (0.95), ``max_anchors_per_class`` (50, chosen: bounds the memory
            of the negatives as U2PL's M), ``num_negatives`` (255),
            ``temperature`` (0.5), ``mixer`` (CutMix, one box of half the
            image).
    """

    default_train_cfg = dict(
        unsup_weight=0.2,
        soft_label_threshold=0.95,
        contrast_weight=0.1,
        anchor_ratio=0.1,
        anchor_threshold=0.95,
        max_anchors_per_class=50,
        num_negatives=255,
        temperature=0.5,
        mixer=dict(type='CutMix', prob=1.0, area=0.5))

    def __init__(self,
                 segmentor: ConfigType,
                 projector: OptConfigType = None,
                 prototypes: OptConfigType = None,
                 memory_bank: OptConfigType = None,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 **kwargs):
        super().__init__(segmentor, semi_train_cfg, semi_test_cfg, data_preprocessor,
                         init_cfg, **kwargs)
        cfg = self.semi_train_cfg
        for key in ('soft_label_threshold', 'anchor_ratio', 'anchor_threshold'):
            if not 0.0 < cfg[key] <= 1.0:
                raise ValueError(f'semi_train_cfg.{key} must be in (0, 1], got {cfg[key]}')
        for key in ('temperature', ):
            if not cfg[key] > 0:
                raise ValueError(f'semi_train_cfg.{key} must be > 0, got {cfg[key]}')
        for key in ('max_anchors_per_class', 'num_negatives'):
            if int(cfg[key]) < 1:
                raise ValueError(f'semi_train_cfg.{key} must be >= 1, got {cfg[key]}')
        if cfg['contrast_weight'] < 0:
            raise ValueError(f"semi_train_cfg.contrast_weight must be >= 0, "
                             f"got {cfg['contrast_weight']}")
        proj = dict(channels=512, norm_cfg=dict(type='SyncBN', requires_grad=True))
        proj.update(projector or {})
        in_channels = self.student.decode_head.channels
        for net in (self.student, self.teacher):
            net.add_module('projector', ESLProjector(in_channels, **copy.deepcopy(proj)))
        self.teacher.projector.requires_grad_(False)
        dim = proj['channels']
        self.part_prototypes = ClassPartPrototypes(
            self.num_classes, dim, **dict(dict(num_parts=5, momentum=0.99), **(prototypes or {})))
        self.num_parts = self.part_prototypes.num_parts
        bank = dict(type='ClassQueueMemoryBank', length=256, background_index=None)
        bank.update(memory_bank or {})
        bank.update(num_classes=self.num_classes * self.num_parts, dim=dim)
        self.memory_bank = MODELS.build(bank)

    def supervised_step(self, x_l: Tensor, ds_l) -> Dict[str, Tensor]:
        feats, logits, dec_feat = self.decode(self.student, x_l)
        losses = self.supervised_losses(feats, logits, ds_l)
        # keep the projector in the graph (DDP without find_unused_parameters)
        losses['loss_contrast'] = self.student.projector(dec_feat).sum() * 0
        return losses

    def pseudo_label(self, step: SemiStep) -> None:
        """Dynamic soft labels (L_SCE); confident hard labels (L_CTR)."""
        cfg = self.semi_train_cfg
        step.extra['soft'] = dynamic_soft_labels(step.probs_u, cfg['soft_label_threshold'])
        p_max, arg = step.probs_u.max(1)
        step.reliable = step.valid_u & (p_max > cfg['anchor_threshold'])
        step.pseudo = arg.masked_fill(~step.reliable, self.ignore_index)

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        loss = soft_cross_entropy(self.student_logits_u(step), step.extra['soft'],
                                  step.valid_u)
        return dict(loss_unsup=self.semi_train_cfg['unsup_weight'] * loss)

    def extra_losses(self, step: SemiStep) -> Dict[str, Tensor]:
        """L_CTR, then the prototype EMA and the queue push."""
        cfg = self.semi_train_cfg
        C, K = self.num_classes, self.num_parts
        z_s = self.student.projector(step.dec_feat)
        size = tuple(z_s.shape[-2:])
        with torch.no_grad():
            x_all = torch.cat([step.x_l, step.x_u])
            _, _, dec_t = self.decode(self.teacher, x_all)
            z_t = self.teacher.projector(dec_t)
            gt = torch.stack([ds.gt_sem_seg.data[0] for ds in step.ds_l]).long()
            labels = torch.cat([self.labels_to(gt, size), self.labels_to(step.pseudo, size)])
            valid = (labels != self.ignore_index) & (labels >= 0) & (labels < C)
            image = torch.arange(labels.shape[0], device=labels.device)[:, None, None]
            image = image.expand_as(labels)[valid]
            y = labels[valid]
            f_t = F.normalize(z_t.permute(0, 2, 3, 1)[valid].float(), dim=1)
            self.part_prototypes.initialize(f_t, y)
            parts = self.part_prototypes.assign(f_t, y)
            anchor_idx = self._anchor_indices(y)
            q = y[anchor_idx] * K + parts[anchor_idx]
            positives = self.memory_bank.sample(q, 1)[:, 0]
            has_pos = self.memory_bank.count[q] > 0
            queue_class = torch.arange(C * K, device=y.device) // K
            allowed = (self.memory_bank.count > 0)[None] & \
                (queue_class[None] != y[anchor_idx][:, None])
            has_neg = allowed.any(1)
            keep = has_pos & has_neg
            anchor_idx, q, positives, allowed = (anchor_idx[keep], q[keep], positives[keep],
                                                 allowed[keep])
            if len(anchor_idx):
                neg_q = torch.multinomial(allowed.float(), cfg['num_negatives'],
                                          replacement=True)
                negatives = self.memory_bank.sample(neg_q.flatten(), 1).view(
                    len(anchor_idx), cfg['num_negatives'], -1)
            else:
                negatives = positives.new_zeros(0, cfg['num_negatives'], positives.shape[-1])
        anchors = z_s.permute(0, 2, 3, 1)[valid][anchor_idx]
        loss = anchor_infonce(anchors, positives, negatives, cfg['temperature'])
        # after the loss: prototypes and queues learn this batch
        self.part_prototypes.update(f_t, y, parts)
        key = (image * C + y) * K + parts
        sums = torch.zeros(labels.shape[0] * C * K, f_t.shape[1], device=f_t.device)
        sums.index_add_(0, key, f_t)
        present = torch.bincount(key, minlength=sums.shape[0]) > 0
        pooled = F.normalize(sums[present], dim=1)
        self.memory_bank.push(pooled, torch.nonzero(present)[:, 0] % (C * K))
        return dict(loss_contrast=cfg['contrast_weight'] * loss,
                    contrast_anchors=torch.tensor(float(len(anchor_idx)), device=loss.device))

    def _anchor_indices(self, labels: Tensor) -> Tensor:
        """A random ``anchor_ratio`` share of each class's pixels (at least
        one, at most ``max_anchors_per_class``)."""
        cfg = self.semi_train_cfg
        perm = torch.randperm(labels.numel(), device=labels.device)
        rank, counts = rank_within_class(labels[perm], self.num_classes)
        quota = torch.clamp(torch.ceil(counts.float() * cfg['anchor_ratio']).long(),
                            max=int(cfg['max_anchors_per_class']))
        return perm[rank < quota[labels[perm]]]
