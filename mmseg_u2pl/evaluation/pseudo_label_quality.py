# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""How good are a teacher's pseudo-labels on reliable vs unreliable pixels?

Diagnostic of U2PL's entropy partition (Eq. 5, 6) on images whose labels are
known but were not used for training (e.g. a split's unlabeled images).
"""
from typing import Dict, Optional

import torch
from torch import Tensor

from ..models.utils import entropy_threshold_pseudo_labels

__all__ = ['PseudoLabelQuality']


class PseudoLabelQuality:
    """Accumulates, over images, the agreement of the teacher's argmax with
    the ground truth, separately on the reliable pixels (the ``1 - alpha``
    lowest-entropy pixels of each :meth:`update` call, ranked exactly as in
    training, where a call is one GPU's batch of unlabeled images) and on the
    unreliable ones, plus entropy statistics and per-class numbers.

    Pixels whose ground truth is ``ignore_index`` take part in the entropy
    ranking (training cannot see labels either) but not in the counts.

    Args:
        num_classes (int): Number of classes.
        alpha (float): Unreliable fraction alpha_t in [0, 1).
        ignore_index (int): Ignored label. Defaults to 255.
    """

    def __init__(self, num_classes: int, alpha: float, ignore_index: int = 255):
        self.num_classes = num_classes
        self.alpha = alpha
        self.ignore_index = ignore_index
        # [reliable, unreliable] x [pixels, correct, entropy sum]
        self.totals = torch.zeros(2, 3, dtype=torch.float64)
        # per class c of the pseudo-label: [reliable, unreliable] x [pixels, correct]
        self.by_pred = torch.zeros(2, 2, num_classes, dtype=torch.float64)
        # per ground-truth class: pixels, and pixels kept as reliable
        self.by_gt = torch.zeros(2, num_classes, dtype=torch.float64)
        # argmax vs ground truth over all labeled pixels, for the IoU
        self.intersect = torch.zeros(num_classes, dtype=torch.float64)
        self.union = torch.zeros(num_classes, dtype=torch.float64)

    def update(self, probs: Tensor, gt: Tensor) -> None:
        """Add images: ``probs`` (B, C, H, W) softmax, ``gt`` (B, H, W)."""
        pred, entropy, reliable, _ = entropy_threshold_pseudo_labels(
            probs.float(), self.alpha, ignore_index=self.ignore_index)
        label = probs.argmax(1)
        known = gt != self.ignore_index
        correct = (label == gt) & known
        for i, part in enumerate((reliable, ~reliable)):
            m = part & known
            self.totals[i, 0] += m.sum().item()
            self.totals[i, 1] += (correct & m).sum().item()
            self.totals[i, 2] += entropy[m].double().sum().item()
            self.by_pred[i, 0] += torch.bincount(label[m], minlength=self.num_classes).double()
            self.by_pred[i, 1] += torch.bincount(label[correct & m],
                                                 minlength=self.num_classes).double()
        self.by_gt[0] += torch.bincount(gt[known], minlength=self.num_classes).double()
        self.by_gt[1] += torch.bincount(gt[known & reliable],
                                        minlength=self.num_classes).double()
        self.intersect += torch.bincount(gt[correct], minlength=self.num_classes).double()
        area_pred = torch.bincount(label[known], minlength=self.num_classes).double()
        area_gt = torch.bincount(gt[known], minlength=self.num_classes).double()
        self.union += area_pred + area_gt - torch.bincount(
            gt[correct], minlength=self.num_classes).double()

    @staticmethod
    def _ratio(a: Tensor, b: Tensor) -> Tensor:
        return torch.where(b > 0, 100.0 * a / b.clamp(min=1), torch.full_like(a, float('nan')))

    def compute(self, class_names: Optional[list] = None) -> Dict:
        """Percentages; ``nan`` where a denominator is 0."""
        names = class_names or [str(c) for c in range(self.num_classes)]
        t = self.totals
        result = dict(alpha=self.alpha)
        for i, part in enumerate(('reliable', 'unreliable')):
            result[part] = dict(
                fraction=float(self._ratio(t[i, 0], t[:, 0].sum())),
                accuracy=float(self._ratio(t[i, 1], t[i, 0])),
                mean_entropy=float(t[i, 2] / t[i, 0]) if t[i, 0] > 0 else float('nan'))
        result['all_accuracy'] = float(self._ratio(t[:, 1].sum(), t[:, 0].sum()))
        iou = self._ratio(self.intersect, self.union)
        result['teacher_miou'] = float(iou[~iou.isnan()].mean()) if (~iou.isnan()).any() \
            else float('nan')
        result['per_class'] = {
            n: dict(iou=float(iou[c]),
                    reliable_precision=float(self._ratio(self.by_pred[0, 1, c],
                                                         self.by_pred[0, 0, c])),
                    unreliable_precision=float(self._ratio(self.by_pred[1, 1, c],
                                                           self.by_pred[1, 0, c])),
                    kept_as_reliable=float(self._ratio(self.by_gt[1, c], self.by_gt[0, c])))
            for c, n in enumerate(names)}
        return result
