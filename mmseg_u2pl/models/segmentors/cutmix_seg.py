# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CutMix-Seg (French et al., BMVC 2020): Mean Teacher on CutMix-ed images."""
import copy

from mmseg.registry import MODELS, TASK_UTILS
from .mean_teacher import MeanTeacherSegmentor
from .semi_base import SemiStep

__all__ = ['CutMixSegSegmentor']


@MODELS.register_module()
class CutMixSegSegmentor(MeanTeacherSegmentor):
    """Mean Teacher where the unlabeled images are mixed by CutMix.

    The teacher predicts the un-mixed images; its probabilities (and the
    valid-pixel masks) are mixed with the same boxes as the images, and the
    student learns the mixed pseudo-labels (hard-label CE by default).

    Args:
        semi_train_cfg (dict): as :class:`MeanTeacherSegmentor`, plus
            ``mixer``: a :class:`~mmseg_u2pl.models.utils.CutMix` config
            (default: probability 1, one box of half the image, the partner
            being the next unlabeled image of the GPU batch).
    """

    default_train_cfg = dict(MeanTeacherSegmentor.default_train_cfg,
                             mixer=dict(type='CutMix', prob=1.0, area=0.5))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mixer = self.semi_train_cfg['mixer']
        self.mixer = None if mixer is None else TASK_UTILS.build(copy.deepcopy(mixer))

    def check_semi_batch(self, unlabeled_per_batch: int) -> None:
        """Refuse CutMix with fewer than two unlabeled images per GPU: the
        partner would be the image itself (nothing mixed)."""
        if self.mixer is not None:
            self.mixer.check_batch(unlabeled_per_batch, key='semi_train_cfg.mixer')

    def mix(self, step: SemiStep) -> None:
        """CutMix of images, teacher probabilities and valid masks, same boxes."""
        if self.mixer is None:
            return
        B, (H, W) = len(step.ds_u), step.x_u.shape[-2:]
        boxes = self.mixer.masks(B, H, W, step.x_u.device)
        step.x_u, step.probs_u, step.valid_u = self.mixer.mix(
            boxes, [step.x_u, step.probs_u, step.valid_u])
