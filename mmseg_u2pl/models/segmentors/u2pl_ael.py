# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""U2PL w/ AEL: U2PL's contrastive loss on top of AEL (the strongest Cityscapes
rows of the U2PL paper, Tab. 3)."""
from typing import Tuple

from torch import Tensor

from mmseg.registry import MODELS
from .ael import AELSegmentor
from .semi_base import SemiStep
from .u2pl_semi_segmentor import U2PLSemiSegmentor

__all__ = ['U2PLAELSegmentor']


@MODELS.register_module()
class U2PLAELSegmentor(AELSegmentor, U2PLSemiSegmentor):
    """AEL's training step plus U2PL's ``L_c`` (Eq. 4, 9-16).

    Composed from the two methods: mixing, copy-paste, the kept pixels and
    the re-weighted ``L_u`` are AEL's (:class:`AELSegmentor`); ``L_c``, its
    contrastive head and memory bank are U2PL's
    (:class:`U2PLSemiSegmentor`), with the reliable / unreliable partition
    of U2PL's entropy filter (Eq. 5-7) computed on the same mixed teacher
    probabilities.

    Args:
        contrastive_head, memory_bank: as :class:`U2PLSemiSegmentor`.
        semi_train_cfg (dict): :class:`AELSegmentor`'s keys plus U2PL's
            ``alpha_0`` (0.2) and ``dynamic_partition`` (True).
    """

    default_train_cfg = dict(AELSegmentor.default_train_cfg, alpha_0=0.2,
                             dynamic_partition=True)

    def pseudo_label(self, step: SemiStep) -> None:
        """U2PL's entropy partition (for ``L_c``), then AEL's pseudo-labels
        (for ``L_u``)."""
        U2PLSemiSegmentor.pseudo_label(self, step)
        step.extra['contrast_targets'] = (step.pseudo, step.reliable)
        AELSegmentor.pseudo_label(self, step)

    def contrastive_targets(self, step: SemiStep) -> Tuple[Tensor, Tensor]:
        return step.extra['contrast_targets']
