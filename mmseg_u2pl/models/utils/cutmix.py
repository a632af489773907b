# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CutMix for segmentation (French et al., "Semi-supervised semantic segmentation
needs strong, varied perturbations"): rectangles pasted from the partner image
(the next image of the batch); images, pseudo-labels and teacher outputs are
mixed with the same boxes. Shared by every method that mixes unlabeled images:
one box of half the image (CutMix-Seg, U2PL) or three boxes of total area
U(0.25, 0.5) (CPS).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmseg.registry import TASK_UTILS

__all__ = ['cutmix_masks', 'multi_box_masks', 'apply_cutmix', 'CutMix']


def cutmix_masks(batch_size: int,
                 height: int,
                 width: int,
                 area_ratio: float = 0.5,
                 prob: float = 1.0,
                 device: Optional[torch.device] = None) -> Tensor:
    """Sample one CutMix box per image.

    The box covers ``area_ratio`` of the image (its width is uniform in
    ``(W * area_ratio, W]``, its height follows from the area), placed
    uniformly. With probability ``1 - prob`` an image gets no box.

    Returns:
        Tensor: (B, H, W) bool; True where the pixel comes from the partner.
    """
    if not 0.0 < area_ratio < 1.0:
        raise ValueError(f'cutmix area_ratio must be in (0, 1), got {area_ratio}')
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f'cutmix prob must be in [0, 1], got {prob}')
    area = height * width * area_ratio
    boxes = []
    for _ in range(batch_size):
        if torch.rand(()) >= prob:
            boxes.append((0, 0, 0, 0))
            continue
        lo = int(width * area_ratio) + 1
        w = int(torch.randint(min(lo, width), width + 1, ()).item())
        h = min(height, max(1, round(area / w)))
        x0 = int(torch.randint(0, width - w + 1, ()).item())
        y0 = int(torch.randint(0, height - h + 1, ()).item())
        boxes.append((y0, y0 + h, x0, x0 + w))
    # slice fills from the host-drawn boxes: no upload, no host synchronisation
    mask = torch.zeros(batch_size, height, width, dtype=torch.bool, device=device)
    for i, (y0, y1, x0, x1) in enumerate(boxes):
        mask[i, y0:y1, x0:x1] = True
    return mask


def apply_cutmix(masks: Tensor, tensors: List[Tensor],
                 source: Optional[Tensor] = None) -> List[Tensor]:
    """Mix every tensor of ``tensors`` with the same boxes.

    Image ``i`` takes the box region from image ``source[i]``, by default
    ``(i + 1) % B``. With ``B = 1`` the only image is its own partner and
    nothing is mixed (:meth:`CutMix.check_batch` refuses that setting).

    Args:
        masks (Tensor): (B, H, W) bool from :func:`cutmix_masks`.
        tensors (list[Tensor]): each (B, H, W) or (B, C, H, W).
        source (Tensor, optional): (B,) long index of each image's partner.
    """
    out = []
    for t in tensors:
        partner = t.roll(shifts=-1, dims=0) if source is None else t[source]
        m = masks if t.dim() == 3 else masks.unsqueeze(1)
        out.append(torch.where(m, partner, t))
    return out


def multi_box_masks(batch_size: int,
                    height: int,
                    width: int,
                    area_range: Tuple[float, float] = (0.25, 0.5),
                    num_boxes: int = 3,
                    prob: float = 1.0,
                    device: Optional[torch.device] = None) -> Tensor:
    """Sample ``num_boxes`` boxes per image, of total area ``a ~ U(area_range)``.

    French et al.'s box generator (as CPS uses it): each box has area
    ``a / num_boxes`` and a random aspect ratio (``h_frac = exp(u log(a)) *
    sqrt(1 / num_boxes)``, ``w_frac = a / exp(u log(a)) * sqrt(1 / num_boxes)``
    with ``u ~ U(0, 1)``), placed uniformly; boxes may overlap, so the mixed
    area can be smaller than ``a``. With probability ``1 - prob`` an image
    gets no box.

    Returns:
        Tensor: (B, H, W) bool; True where the pixel comes from the partner.
    """
    lo, hi = area_range
    if not 0.0 < lo <= hi < 1.0:
        raise ValueError(f'cutmix area range must satisfy 0 < lo <= hi < 1, got {area_range}')
    if num_boxes < 1:
        raise ValueError(f'cutmix num_boxes must be >= 1, got {num_boxes}')
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f'cutmix prob must be in [0, 1], got {prob}')
    out = torch.zeros(batch_size, height, width, dtype=torch.bool)
    fac = math.sqrt(1.0 / num_boxes)
    for i in range(batch_size):
        if torch.rand(()) >= prob:
            continue
        area = lo + (hi - lo) * float(torch.rand(()))
        for _ in range(num_boxes):
            y_frac = math.exp(float(torch.rand(())) * math.log(area))
            x_frac = area / y_frac
            h = min(height, round(y_frac * fac * height))
            w = min(width, round(x_frac * fac * width))
            y0 = round((height - h) * float(torch.rand(())))
            x0 = round((width - w) * float(torch.rand(())))
            out[i, y0:y0 + h, x0:x0 + w] = True
    return out.to(device)


@TASK_UTILS.register_module()
class CutMix:
    """CutMix of unlabeled images with their partners in the same batch.

    Args:
        prob (float): Probability that an image gets boxes. Defaults to 1.0.
        area (float | tuple[float, float]): Fraction of the image covered:
            a number (one box of exactly that area, :func:`cutmix_masks`) or
            a range (total area drawn uniformly, :func:`multi_box_masks`).
            Defaults to 0.5.
        num_boxes (int): Boxes per image; more than one needs an area range.
            Defaults to 1.
    """

    def __init__(self,
                 prob: float = 1.0,
                 area: Union[float, Sequence[float]] = 0.5,
                 num_boxes: int = 1):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'CutMix prob must be in [0, 1], got {prob}')
        if isinstance(area, (int, float)):
            if not 0.0 < area < 1.0:
                raise ValueError(f'CutMix area must be in (0, 1), got {area}')
            if num_boxes != 1:
                raise ValueError(f'CutMix with num_boxes={num_boxes} needs an area range '
                                 f'(lo, hi), got the single value {area}')
        else:
            area = tuple(float(a) for a in area)
            if len(area) != 2 or not 0.0 < area[0] <= area[1] < 1.0:
                raise ValueError(f'CutMix area range must be (lo, hi) with '
                                 f'0 < lo <= hi < 1, got {area}')
        if num_boxes < 1:
            raise ValueError(f'CutMix num_boxes must be >= 1, got {num_boxes}')
        self.prob = prob
        self.area = area
        self.num_boxes = num_boxes

    @property
    def active(self) -> bool:
        return self.prob > 0

    def check_batch(self, unlabeled_per_batch: int, key: str = 'mixer') -> None:
        """Refuse fewer than two unlabeled images per GPU (the partner would
        be the image itself and nothing would be mixed)."""
        if self.active and unlabeled_per_batch < 2:
            raise ValueError(
                f'CutMix ({key}.prob={self.prob}) mixes each unlabeled image '
                'with another unlabeled image of the same GPU batch, but there is '
                f'{unlabeled_per_batch} unlabeled image per GPU '
                '(train_dataloader.sampler.unlabeled_per_batch): it would be mixed with '
                'itself. Set unlabeled_per_batch >= 2 (and batch_size to match) or '
                f'{key}.prob=0.')

    def masks(self, batch_size: int, height: int, width: int,
              device: Optional[torch.device] = None) -> Tensor:
        """(B, H, W) bool: True where a pixel comes from the partner."""
        if isinstance(self.area, tuple):
            return multi_box_masks(batch_size, height, width, self.area, self.num_boxes,
                                   self.prob, device)
        return cutmix_masks(batch_size, height, width, self.area, self.prob, device)

    @staticmethod
    def mix(masks: Tensor, tensors: List[Tensor]) -> List[Tensor]:
        """Mix every tensor with the same boxes (:func:`apply_cutmix`)."""
        return apply_cutmix(masks, tensors)
