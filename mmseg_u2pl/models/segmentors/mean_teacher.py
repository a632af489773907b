# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Mean Teacher (Tarvainen & Valpola, NeurIPS 2017) for segmentation."""
from typing import Dict

from torch import Tensor

from mmseg.registry import MODELS
from ..losses import pseudo_label_ce, softmax_mse
from .semi_base import SemiBaseSegmentor, SemiStep

__all__ = ['MeanTeacherSegmentor']


@MODELS.register_module()
class MeanTeacherSegmentor(SemiBaseSegmentor):
    """Mean Teacher: ``L = L_s + unsup_weight * L_cons``.

    The teacher is the EMA of the student (:class:`MeanTeacherHook`, decay
    0.99); both see the same unlabeled images (with the loader's weak
    augmentation), so the perturbation is the EMA and the student's dropout.
    ``L_cons`` is either

    - ``'ce'``: cross-entropy against the teacher's hard argmax (the form of
      the Mean Teacher rows in the U2PL paper's re-runs), mean over real
      pixels (:func:`pseudo_label_ce`), or
    - ``'mse'``: the classic squared difference of the softmax outputs, mean
      over real pixels and classes (:func:`softmax_mse`).

    The teacher is evaluated (``semi_test_cfg.predict_on='teacher'``).

    Args:
        semi_train_cfg (dict): ``unsup_weight`` (1.0), ``consistency``
            ('ce' or 'mse', 'ce').
    """

    default_train_cfg = dict(unsup_weight=1.0, consistency='ce')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.semi_train_cfg
        if cfg.get('consistency', 'ce') not in ('ce', 'mse'):
            raise ValueError("semi_train_cfg.consistency must be 'ce' or 'mse', "
                             f"got {cfg['consistency']!r}")
        if cfg['unsup_weight'] < 0:
            raise ValueError(f"semi_train_cfg.unsup_weight must be >= 0, "
                             f"got {cfg['unsup_weight']}")

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        logits_u = self.student_logits_u(step)
        if self.semi_train_cfg['consistency'] == 'mse':
            loss = softmax_mse(logits_u, step.probs_u, step.valid_u)
        else:
            loss = pseudo_label_ce(logits_u, step.pseudo, self.ignore_index)
        return dict(loss_unsup=self.semi_train_cfg['unsup_weight'] * loss)
