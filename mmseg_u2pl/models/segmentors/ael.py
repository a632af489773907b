# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""AEL: Semi-Supervised Semantic Segmentation via Adaptive Equalization Learning
(Hu et al., NeurIPS 2021). Section numbers refer to that paper."""
import copy
from typing import Dict, List, Optional

import torch
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList
from ..losses import weighted_pseudo_label_ce
from ..utils import ClassConfidenceBank, class_sampling_probs, equalization_keep_probs
from .cutmix_seg import CutMixSegSegmentor
from .semi_base import SemiStep

__all__ = ['AELSegmentor']


@MODELS.register_module()
class AELSegmentor(CutMixSegSegmentor):
    """Adaptive Equalization Learning: a mean teacher whose mixing, pixel
    sampling and loss weights favour the classes it does worst on.

    - Confidence bank (Sec. 3.2): ``Conf_c``, the EMA (0.999) of the
      student's mean probability of class c on the labeled pixels of class c,
      updated with every supervised loss (:class:`ClassConfidenceBank`).
    - Adaptive CutMix (Sec. 3.3, :meth:`mix`): the class to cut is drawn by
      ``softmax(1 - Conf)``, the box is a connected component of it in the
      teacher's prediction of another unlabeled image
      (:class:`~mmseg_u2pl.models.utils.AdaptiveCutMix`).
    - Adaptive copy-paste (Sec. 3.3, :meth:`mix_labeled`): up to 3 classes
      drawn by ``softmax(sqrt(1 - Conf))`` pasted from another labeled image
      with scale jitter, probability 0.5
      (:class:`~mmseg_u2pl.models.utils.AdaptiveCopyPaste`).
    - Adaptive equalization sampling (Sec. 3.4, :meth:`pseudo_label`): a
      pixel with pseudo-label c is kept with probability
      ``((1 - Conf_c) / max_c' (1 - Conf_c'))^beta``, after an optional
      confidence threshold (VOC: 0.7).
    - Dynamic re-weighting (Sec. 3.4, :meth:`unsupervised_loss`):
      ``L_u = sum_j w_j CE_j / sum_j w_j`` with ``w_j = (max_c p_jc)^gamma``
      of the teacher, gamma = 2.

    Copy-paste acts in the semi-supervised steps only (not in the warm start);
    the confidence bank is updated in both.

    Args:
        semi_train_cfg (dict): ``unsup_weight`` (1.0); ``mixer``
            (:class:`AdaptiveCutMix` config; a plain :class:`CutMix` turns
            the adaptive CutMix off; None: no mixing); ``copy_paste``
            (:class:`AdaptiveCopyPaste` config or None); ``confidence_momentum``
            (0.999); ``confidence_threshold`` (None, or a value in [0, 1));
            ``equalization_beta`` (1.0; None: keep every pixel);
            ``reweight_gamma`` (2.0; 0: plain mean).
    """

    default_train_cfg = dict(
        unsup_weight=1.0,
        mixer=dict(type='AdaptiveCutMix', prob=1.0, area_threshold=0.01,
                   min_component_area=0.005, fallback_area=0.5),
        copy_paste=dict(type='AdaptiveCopyPaste', prob=0.5, max_classes=3,
                        scale_range=(0.1, 2.0)),
        confidence_momentum=0.999,
        confidence_threshold=None,
        equalization_beta=1.0,
        reweight_gamma=2.0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.semi_train_cfg
        threshold = cfg['confidence_threshold']
        if threshold is not None and not 0.0 <= threshold < 1.0:
            raise ValueError('semi_train_cfg.confidence_threshold must be None or in [0, 1), '
                             f'got {threshold}')
        beta = cfg['equalization_beta']
        if beta is not None and beta < 0:
            raise ValueError(f'semi_train_cfg.equalization_beta must be None or >= 0, got {beta}')
        if cfg['reweight_gamma'] < 0:
            raise ValueError(f"semi_train_cfg.reweight_gamma must be >= 0, "
                             f"got {cfg['reweight_gamma']}")
        copy_paste = cfg['copy_paste']
        self.copy_paste = None if copy_paste is None else TASK_UTILS.build(
            copy.deepcopy(copy_paste))
        self.confidence_bank = ClassConfidenceBank(self.num_classes, cfg['confidence_momentum'])

    @property
    def confidence(self) -> Tensor:
        """(C,) ``Conf_c`` of the confidence bank."""
        return self.confidence_bank.confidence

    def supervised_losses(self, feats: List[Tensor], logits: Tensor,
                          data_samples: SampleList,
                          net: Optional[BaseSegmentor] = None) -> Dict[str, Tensor]:
        """``L_s``; the student's probabilities on the labeled pixels update
        the confidence bank (Sec. 3.2)."""
        if net is None or net is self.student:
            n = len(data_samples)
            gt = torch.stack([ds.gt_sem_seg.data[0] for ds in data_samples]).long()
            with torch.no_grad():
                probs = self.resize_like(logits[:n].detach().float(), tuple(gt.shape[-2:]),
                                         self.align_corners).softmax(1)
                self.confidence_bank.update(probs, gt, self.ignore_index)
        return super().supervised_losses(feats, logits, data_samples, net)

    def mix(self, step: SemiStep) -> None:
        """Adaptive CutMix of images, teacher probabilities and valid masks."""
        if self.mixer is None or not hasattr(self.mixer, 'adaptive_masks'):
            return super().mix(step)
        labels = step.probs_u.argmax(1).masked_fill(~step.valid_u, self.ignore_index)
        masks, source, cut = self.mixer.adaptive_masks(
            labels, class_sampling_probs(self.confidence), self.ignore_index)
        step.x_u, step.probs_u, step.valid_u = self.mixer.mix(
            masks, [step.x_u, step.probs_u, step.valid_u], source)
        step.extra['cut_classes'] = cut

    def mix_labeled(self, step: SemiStep) -> None:
        """Adaptive copy-paste between the labeled images (new samples carry
        the pasted labels)."""
        if self.copy_paste is None:
            return
        gt = torch.stack([ds.gt_sem_seg.data[0] for ds in step.ds_l]).long()
        step.x_l, gt, _ = self.copy_paste(step.x_l, gt,
                                          class_sampling_probs(self.confidence, sqrt=True),
                                          self.ignore_index)
        samples = []
        for ds, labels in zip(step.ds_l, gt):
            new = ds.clone()
            new.gt_sem_seg = PixelData(data=labels[None].to(ds.gt_sem_seg.data.dtype))
            samples.append(new)
        step.ds_l = samples

    def pseudo_label(self, step: SemiStep) -> None:
        """Teacher argmax, kept by the confidence threshold and the adaptive
        equalization sampling; the re-weighting ``w = p_max^gamma``."""
        cfg = self.semi_train_cfg
        p_max, pseudo = step.probs_u.max(1)
        keep = step.valid_u.clone()
        if cfg['confidence_threshold'] is not None:
            keep &= p_max >= cfg['confidence_threshold']
        if cfg['equalization_beta'] is not None:
            s = equalization_keep_probs(self.confidence, cfg['equalization_beta'])
            keep &= torch.rand(pseudo.shape, device=pseudo.device) < s.to(pseudo.device)[pseudo]
        step.reliable = keep
        step.pseudo = pseudo.masked_fill(~keep, self.ignore_index)
        step.extra['weights'] = p_max.pow(cfg['reweight_gamma'])

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        """``L_u``: re-weighted cross-entropy on the kept pixels (Sec. 3.4)."""
        loss = weighted_pseudo_label_ce(self.student_logits_u(step), step.pseudo,
                                        step.extra['weights'], self.ignore_index)
        kept = step.reliable.sum() / step.valid_u.sum().clamp(min=1)
        return dict(loss_unsup=self.semi_train_cfg['unsup_weight'] * loss,
                    kept_ratio=kept.detach().float())
