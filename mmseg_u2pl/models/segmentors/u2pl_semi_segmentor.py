# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""U2PL: Semi-Supervised Semantic Segmentation Using Unreliable Pseudo-Labels
(Wang et al., CVPR 2022). Equation numbers refer to the main paper."""
import copy
from typing import Dict

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from ..utils import apply_cutmix, adaptive_unsup_weight, cutmix_masks, \
    entropy_threshold_pseudo_labels
from .semi_base import SemiBaseSegmentor

__all__ = ['U2PLSemiSegmentor']


@MODELS.register_module()
class U2PLSemiSegmentor(SemiBaseSegmentor):
    """U2PL training around any MMSeg segmentor.

    One training step (Eq. 1): ``L = L_s + lambda_u L_u + lambda_c L_c``.

    1. The teacher (eval mode, no grad) predicts the unlabeled batch.
    2. CutMix (probability ``cutmix_prob``) mixes the unlabeled images, the
       teacher probabilities and the valid-pixel masks with the same boxes.
       It needs at least two unlabeled images per GPU
       (:meth:`check_semi_batch`).
    3. Pseudo-labels: argmax of the mixed teacher probabilities; the top
       ``alpha_t`` entropy pixels are ignored (Eq. 5, 6). ``alpha_t`` is set
       per epoch by :class:`EntropyPartitionHook` (Eq. 7).
    4. The student predicts ``[x_l ; mixed x_u]`` in one forward.
    5. ``L_s``: the wrapped segmentor's decode (and auxiliary) losses on the
       labeled half (Eq. 2), so OHEM and auxiliary heads come from MMSeg.
    6. ``L_u``: cross-entropy against the reliable pseudo-labels, mean over
       kept pixels, weighted by ``lambda_u = eta * |B_u| H W / #kept``
       (Eq. 3, 8).
    7. ``L_c``: :class:`U2PLContrastiveHead` on the decoder feature, with
       teacher features of the same inputs for positives and negatives and the
       category-wise memory bank Q_c (Eq. 4, 9-16).

    During warm start (``self.warm_start``, switched by
    :class:`EntropyPartitionHook`) the step is ``L_s`` only.

    Args:
        segmentor (dict): The wrapped MMSeg segmentor config.
        contrastive_head (dict, optional): :class:`U2PLContrastiveHead`
            config; ``None`` disables ``L_c`` (e.g. CutMix-Seg, Tab. 6
            without ``L_c``). ``in_channels``/``num_classes``/
            ``ignore_index`` default to the decode head's.
        memory_bank (dict, optional): :class:`ClassQueueMemoryBank` config;
            ``None`` takes negatives from the current batch only.
        semi_train_cfg (dict): ``unsup_weight`` (eta, 1.0), ``alpha_0``
            (initial unreliable ratio, 0.2), ``cutmix_prob`` (1.0),
            ``cutmix_area`` (0.5).
        semi_test_cfg (dict): ``predict_on``: 'teacher' (default) or
            'student'.
    """

    default_train_cfg = dict(unsup_weight=1.0, alpha_0=0.2, cutmix_prob=1.0, cutmix_area=0.5)

    def __init__(self,
                 segmentor: ConfigType,
                 contrastive_head: OptConfigType = dict(type='U2PLContrastiveHead'),
                 memory_bank: OptConfigType = dict(type='ClassQueueMemoryBank'),
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        train_cfg = dict(self.default_train_cfg, **(semi_train_cfg or {}))
        unknown = set(train_cfg) - set(self.default_train_cfg)
        if unknown:
            raise KeyError(f'unknown key(s) in semi_train_cfg: {sorted(unknown)}; '
                           f'expected {sorted(self.default_train_cfg)}')
        super().__init__(segmentor, train_cfg, semi_test_cfg, data_preprocessor, init_cfg)
        decode_head = self.student.decode_head
        self.align_corners = decode_head.align_corners
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
        # Set by EntropyPartitionHook before every iteration.
        self.alpha_t: float = self.semi_train_cfg['alpha_0']
        self.warm_start: bool = False
        self.semi_start_iter: int = 0

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        x_l, ds_l, x_u, ds_u = self.split_batch(inputs, data_samples)
        if len(ds_l) == 0:
            raise ValueError('a training batch holds no labeled sample; use '
                             'SemiSupervisedSampler with a SemiSegDataset')
        if self.warm_start or len(ds_u) == 0:
            return self._supervised_step(x_l, ds_l)

        cfg = self.semi_train_cfg
        self.check_semi_batch(len(ds_u))
        B_l, (H, W) = len(ds_l), x_u.shape[-2:]
        # 1. teacher prediction of the unlabeled batch
        self.teacher.eval()
        with torch.no_grad():
            _, logits_t, _ = self.decode(self.teacher, x_u)
            probs_u = self.resize_like(logits_t, (H, W), self.align_corners).softmax(1)
        # 2. CutMix of images, teacher outputs and valid masks, same boxes
        valid_u = self.valid_mask(ds_u, (H, W), x_u.device)
        boxes = cutmix_masks(len(ds_u), H, W, cfg['cutmix_area'], cfg['cutmix_prob'],
                             x_u.device)
        x_u, probs_u, valid_u = apply_cutmix(boxes, [x_u, probs_u, valid_u])
        # 3. entropy partition (Eq. 5, 6) and adaptive weight (Eq. 8)
        pseudo, _, reliable, gamma = entropy_threshold_pseudo_labels(
            probs_u, self.alpha_t, valid_u, self.ignore_index)
        # 4. student forward on [x_l ; mixed x_u]
        x_all = torch.cat([x_l, x_u])
        feats, logits, dec_feat = self.decode(self.student, x_all)
        # 5. L_s (Eq. 2)
        losses = self.supervised_losses(feats, logits, ds_l)
        # 6. L_u (Eq. 3, 8)
        logits_u = self.resize_like(logits[B_l:], (H, W), self.align_corners)
        ce = F.cross_entropy(logits_u, pseudo, ignore_index=self.ignore_index,
                             reduction='sum')
        kept = reliable.sum()
        lambda_u = adaptive_unsup_weight(pseudo, cfg['unsup_weight'], self.ignore_index,
                                         valid_u)
        losses['loss_unsup'] = lambda_u * ce / kept.clamp(min=1)
        losses['unsup_weight'] = lambda_u.detach()
        losses['reliable_ratio'] = (kept / valid_u.sum().clamp(min=1)).detach().float()
        losses['alpha_t'] = torch.tensor(float(self.alpha_t), device=x_u.device)
        # 7. L_c (Eq. 4, 9-16)
        if self.with_contrast:
            losses.update(self._contrastive_loss(x_all, B_l, ds_l, dec_feat, probs_u, pseudo,
                                                 reliable, valid_u))
        return losses

    def check_semi_batch(self, unlabeled_per_batch: int) -> None:
        """Refuse CutMix with fewer than two unlabeled images per GPU.

        CutMix pastes a box of the next unlabeled image of the same batch
        (:func:`apply_cutmix`); with one image its partner is itself and the
        step would silently train without CutMix. Called by
        :class:`EntropyPartitionHook` before training (with the sampler's
        ``unlabeled_per_batch``) and in every step.

        Raises:
            ValueError: ``cutmix_prob > 0`` and ``unlabeled_per_batch < 2``.
        """
        prob = self.semi_train_cfg['cutmix_prob']
        if prob > 0 and unlabeled_per_batch < 2:
            raise ValueError(
                f'CutMix (semi_train_cfg.cutmix_prob={prob}) mixes each unlabeled image '
                'with another unlabeled image of the same GPU batch, but there is '
                f'{unlabeled_per_batch} unlabeled image per GPU '
                '(train_dataloader.sampler.unlabeled_per_batch): it would be mixed with '
                'itself. Set unlabeled_per_batch >= 2 (and batch_size to match) or '
                'cutmix_prob=0.')

    def _supervised_step(self, x_l: Tensor, ds_l: SampleList) -> Dict[str, Tensor]:
        feats, logits, dec_feat = self.decode(self.student, x_l)
        losses = self.supervised_losses(feats, logits, ds_l)
        if self.with_contrast:
            # keep every trainable parameter in the graph (DDP without
            # find_unused_parameters) with an exact zero
            zero = self.student.contrastive_head(dec_feat).sum() * 0
            losses['loss_contrast'] = zero
        return losses

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
            probs_l = self.resize_like(logits_t[:B_l], size, self.align_corners).softmax(1)
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
        loss, stats = head.loss(rep_s, rep_t, labels, torch.cat([probs_l, probs_u]),
                                is_labeled, unreliable, self.memory_bank,
                                pseudo_labels=pseudo_all, valid=valid)
        return dict(loss_contrast=loss, **stats)
