# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Data checks that MMSeg's pipeline does not make."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

__all__ = ['CheckSegMap']


@TRANSFORMS.register_module()
class CheckSegMap(BaseTransform):
    """Refuse a label map that does not fit its image or the classes.

    Put it right after ``LoadAnnotations`` (whose ``reduce_zero_label`` and
    label mapping it sees applied), before any transform that changes the
    label's geometry. Checks, naming the files and values:

    - the label map has the height and width of the image as loaded
      (``ori_shape``; test pipelines may already have resized the image).
      MMSeg resizes and crops both with the same parameters, so a label map
      of another size would be misaligned silently (same aspect ratio) or
      cropped wrongly;
    - with ``num_classes``, every value is in ``[0, num_classes)`` or is
      ``ignore_index``. Out-of-range values otherwise either crash the loss
      far from their file or, in evaluation, are dropped silently by
      ``IoUMetric``.

    Samples without a label map pass unchanged.

    Args:
        num_classes (int, optional): Number of classes of the dataset.
        ignore_index (int): Label of ignored pixels. Defaults to 255.
    """

    def __init__(self, num_classes: Optional[int] = None, ignore_index: int = 255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None:
            return results
        # the image as loaded: MMSeg's test pipelines resize the image before
        # loading the label, which is kept at the original size for evaluation
        img_hw = tuple(results.get('ori_shape', results['img'].shape)[:2])
        if tuple(seg.shape[:2]) != img_hw:
            raise ValueError(
                f"label map {results.get('seg_map_path')} is {tuple(seg.shape[:2])} (H, W) but "
                f"its image {results.get('img_path')} is {img_hw}")
        if self.num_classes is not None:
            if seg.dtype == np.uint8:  # ~10 x faster than np.unique
                values = np.flatnonzero(np.bincount(seg.ravel(), minlength=256))
            else:
                values = np.unique(seg)
            bad = values[(values >= self.num_classes) & (values != self.ignore_index)]
            if bad.size:
                raise ValueError(
                    f"label map {results.get('seg_map_path')} has values {bad[:10].tolist()} "
                    f'outside [0, {self.num_classes}) that are not the ignore index '
                    f'{self.ignore_index}')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
