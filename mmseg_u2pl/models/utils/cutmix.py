# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CutMix for segmentation (French et al., "Semi-supervised semantic segmentation
needs strong, varied perturbations"): one rectangle per image, pasted from the
next image of the batch; images, pseudo-labels and teacher outputs are mixed
with the same boxes. Shared by every method that mixes unlabeled images.
"""
from typing import List, Optional

import torch
from torch import Tensor

__all__ = ['cutmix_masks', 'apply_cutmix']


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
    b = torch.tensor(boxes, dtype=torch.long, device=device)
    ys = torch.arange(height, device=device).view(1, -1, 1)
    xs = torch.arange(width, device=device).view(1, 1, -1)
    return ((ys >= b[:, 0, None, None]) & (ys < b[:, 1, None, None])
            & (xs >= b[:, 2, None, None]) & (xs < b[:, 3, None, None]))


def apply_cutmix(masks: Tensor, tensors: List[Tensor]) -> List[Tensor]:
    """Mix every tensor of ``tensors`` with the same boxes.

    Image ``i`` takes the box region from image ``(i + 1) % B``. With
    ``B = 1`` the only image is its own partner and nothing is mixed
    (:meth:`U2PLSemiSegmentor.check_semi_batch` refuses that setting).

    Args:
        masks (Tensor): (B, H, W) bool from :func:`cutmix_masks`.
        tensors (list[Tensor]): each (B, H, W) or (B, C, H, W).
    """
    out = []
    for t in tensors:
        partner = t.roll(shifts=-1, dims=0)
        m = masks if t.dim() == 3 else masks.unsqueeze(1)
        out.append(torch.where(m, partner, t))
    return out
