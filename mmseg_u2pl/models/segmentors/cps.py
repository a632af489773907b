# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CPS: Semi-Supervised Semantic Segmentation with Cross Pseudo Supervision
(Chen et al., CVPR 2021). Equation numbers refer to that paper."""
import copy
from typing import Dict

import torch
from torch import Tensor

from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import SampleList
from ..losses import cross_pseudo_ce, pseudo_label_ce
from .semi_base import SemiBaseSegmentor, SemiStep

__all__ = ['CPSSegmentor']


@MODELS.register_module()
class CPSSegmentor(SemiBaseSegmentor):
    """Cross pseudo supervision between two trained networks.

    ``student`` (network 1, evaluated by default) and ``peer`` (network 2)
    are built from the same segmentor config: with a pretrained backbone
    they share its weights and their decode heads are initialised
    differently (one after the other from the same random stream). There is
    no teacher and no EMA (no :class:`MeanTeacherHook` in CPS configs).

    ``L = L_s(net 1) + L_s(net 2) + lambda * L_cps`` (Eq. 4), with
    ``L_cps = CE(P_1, argmax P_2) + CE(P_2, argmax P_1)`` (Eq. 2, 3): hard
    targets, no threshold, no gradient through the argmax, each CE the mean
    over real pixels (:func:`cross_pseudo_ce`).

    - Without CutMix (``mixer=None``), ``L_cps`` covers the labeled and the
      unlabeled images of the batch (both networks predict ``[x_l ; x_u]``
      once, with gradient).
    - With CutMix, ``L_cps`` covers the mixed unlabeled images only: each
      network predicts the un-mixed unlabeled images without gradient (in
      its current, training mode, as the authors' code does), its
      pseudo-label is the mix of those predictions with the boxes of the
      images, and each network learns the other's pseudo-label on the mixed
      images. The CPS mixer: three boxes of total area U(0.25, 0.5), the
      partner being the next unlabeled image of the GPU batch.

    Published weights (``../shared/docs/methods-reference.md``): lambda = 1.5
    (VOC) / 6 (Cityscapes) without CutMix, 1 / 5 with it.

    Args:
        semi_train_cfg (dict): ``cps_weight`` (lambda, 1.5), ``mixer``
            (None, or a :class:`~mmseg_u2pl.models.utils.CutMix` config).
        semi_test_cfg (dict): ``predict_on``: 'student' (network 1, default)
            or 'peer'.
    """

    default_train_cfg = dict(cps_weight=1.5, mixer=None)
    second_network = 'peer'
    default_predict_on = 'student'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.semi_train_cfg
        if cfg['cps_weight'] < 0:
            raise ValueError(f"semi_train_cfg.cps_weight must be >= 0, got {cfg['cps_weight']}")
        mixer = cfg['mixer']
        self.mixer = None if mixer is None else TASK_UTILS.build(copy.deepcopy(mixer))

    def check_semi_batch(self, unlabeled_per_batch: int) -> None:
        if self.mixer is not None:
            self.mixer.check_batch(unlabeled_per_batch, key='semi_train_cfg.mixer')

    def supervised_step(self, x_l: Tensor, ds_l: SampleList) -> Dict[str, Tensor]:
        losses = {}
        for name in ('student', 'peer'):
            net = getattr(self, name)
            feats, logits, _ = self.decode(net, x_l)
            losses.update(self._prefixed(name, self.supervised_losses(feats, logits, ds_l,
                                                                      net)))
        return losses

    @staticmethod
    def _prefixed(name: str, losses: Dict[str, Tensor]) -> Dict[str, Tensor]:
        return losses if name == 'student' else {f'peer.{k}': v for k, v in losses.items()}

    def teacher_predict(self, step: SemiStep) -> None:
        """Real-pixel mask; with CutMix, both networks' predictions of the
        un-mixed unlabeled images (no gradient)."""
        H, W = step.x_u.shape[-2:]
        step.valid_u = self.valid_mask(step.ds_u, (H, W), step.x_u.device)
        if self.mixer is None:
            return
        with torch.no_grad():
            step.extra['logits_u'] = [
                self.resize_like(self.decode(getattr(self, name), step.x_u)[1], (H, W),
                                 self.align_corners) for name in ('student', 'peer')]

    def mix(self, step: SemiStep) -> None:
        if self.mixer is None:
            return
        B, (H, W) = len(step.ds_u), step.x_u.shape[-2:]
        boxes = self.mixer.masks(B, H, W, step.x_u.device)
        step.x_u, step.valid_u, *step.extra['logits_u'] = self.mixer.mix(
            boxes, [step.x_u, step.valid_u, *step.extra['logits_u']])

    def pseudo_label(self, step: SemiStep) -> None:
        """With CutMix: each network's argmax of its mixed predictions."""
        if self.mixer is None:
            return
        step.extra['pseudo'] = [
            logits.argmax(1).masked_fill(~step.valid_u, self.ignore_index)
            for logits in step.extra['logits_u']]

    def student_predict(self, step: SemiStep) -> None:
        x_all = torch.cat([step.x_l, step.x_u])
        step.feats, step.logits, step.dec_feat = self.decode(self.student, x_all)
        step.extra['peer'] = self.decode(self.peer, x_all)

    def labeled_losses(self, step: SemiStep) -> Dict[str, Tensor]:
        losses = self.supervised_losses(step.feats, step.logits, step.ds_l)
        feats_p, logits_p, _ = step.extra['peer']
        losses.update(self._prefixed(
            'peer', self.supervised_losses(feats_p, logits_p, step.ds_l, self.peer)))
        return losses

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        """lambda * L_cps (Eq. 2-4)."""
        B_l, size = step.num_labeled, tuple(step.x_u.shape[-2:])
        logits_1 = self.resize_like(step.logits, size, self.align_corners)
        logits_2 = self.resize_like(step.extra['peer'][1], size, self.align_corners)
        if self.mixer is None:
            valid_l = self.valid_mask(step.ds_l, size, step.x_l.device)
            loss = cross_pseudo_ce(logits_1, logits_2, torch.cat([valid_l, step.valid_u]),
                                   self.ignore_index)
        else:
            pseudo_1, pseudo_2 = step.extra['pseudo']
            loss = (pseudo_label_ce(logits_1[B_l:], pseudo_2, self.ignore_index) +
                    pseudo_label_ce(logits_2[B_l:], pseudo_1, self.ignore_index))
        return dict(loss_cps=self.semi_train_cfg['cps_weight'] * loss)
