# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Data checks that MMSeg's pipeline does not make."""
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

__all__ = ['CheckSegMapShape']


@TRANSFORMS.register_module()
class CheckSegMapShape(BaseTransform):
    """Refuse a label map whose height/width differ from its image's.

    Put it right after ``LoadAnnotations``. MMSeg resizes and crops image and
    label with the same parameters, so a label map of another size is
    silently misaligned (same aspect ratio) or cropped wrongly; this check
    names both files instead. Samples without a label pass unchanged.
    """

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None:
            return results
        img_hw = tuple(results['img'].shape[:2])
        if tuple(seg.shape[:2]) != img_hw:
            raise ValueError(
                f"label map {results.get('seg_map_path')} is {tuple(seg.shape[:2])} (H, W) but "
                f"its image {results.get('img_path')} is {img_hw}")
        return results
