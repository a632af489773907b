# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""AEL's class-adaptive data mixing (Hu et al., NeurIPS 2021, Sec. 3.3): an
adaptive CutMix of unlabeled images and an adaptive copy-paste of labeled
objects. Both draw classes from the distribution that
:class:`~mmseg_u2pl.models.utils.ClassConfidenceBank` gives, so the classes
the model does worst on are mixed in most often. They sit next to
:class:`CutMix` and share its mixing (:func:`apply_cutmix`)."""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import TASK_UTILS
from .cutmix import CutMix, apply_cutmix, cutmix_masks

__all__ = ['component_boxes', 'paste_objects', 'AdaptiveCutMix', 'AdaptiveCopyPaste']

Box = Tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


def component_boxes(mask: Tensor, min_area: int = 1) -> List[Box]:
    """Bounding boxes of the 8-connected components of ``mask`` with at least
    ``min_area`` pixels, in OpenCV's labelling order.

    Args:
        mask (Tensor): (H, W) bool.
        min_area (int): Smallest component kept (pixels).
    """
    m = mask.detach().cpu().numpy().astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    boxes = []
    for k in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[k])
        if area >= min_area:
            boxes.append((y, y + h, x, x + w))
    return boxes


def paste_objects(image: Tensor, label: Tensor, src_image: Tensor, src_label: Tensor,
                  classes: Tensor, scale: float, offset: Tuple[int, int]
                  ) -> Tuple[Tensor, Tensor, Tensor]:
    """Paste the pixels of ``classes`` of a source image onto an image.

    The source (image bilinear, labels nearest) is resized by ``scale`` and
    placed with its top-left corner at ``offset`` (may be negative or past the
    border: what falls outside is cut). Pasted pixels take the source's image
    and label.

    Args:
        image (Tensor): (3, H, W) target image.
        label (Tensor): (H, W) long target labels.
        src_image (Tensor): (3, H_s, W_s) source image.
        src_label (Tensor): (H_s, W_s) long source labels.
        classes (Tensor): (K,) long classes to paste.
        scale (float): Resize factor of the source.
        offset (tuple[int, int]): (y, x) of the resized source's corner.

    Returns:
        tuple: the new image, the new labels and the (H, W) bool mask of
        pasted pixels.
    """
    H, W = label.shape
    Hs, Ws = src_label.shape
    h, w = max(1, round(Hs * scale)), max(1, round(Ws * scale))
    img_s = F.interpolate(src_image[None].float(), size=(h, w), mode='bilinear',
                          align_corners=False)[0].to(image.dtype)
    lab_s = F.interpolate(src_label[None, None].float(), size=(h, w),
                          mode='nearest')[0, 0].long()
    obj_s = torch.isin(lab_s, classes.to(lab_s.device))
    oy, ox = offset
    ty0, ty1, tx0, tx1 = max(oy, 0), min(oy + h, H), max(ox, 0), min(ox + w, W)
    pasted = torch.zeros_like(label, dtype=torch.bool)
    image, label = image.clone(), label.clone()
    if ty1 <= ty0 or tx1 <= tx0:
        return image, label, pasted
    region = (slice(ty0, ty1), slice(tx0, tx1))
    src = (slice(ty0 - oy, ty1 - oy), slice(tx0 - ox, tx1 - ox))
    m = obj_s[src]
    pasted[region] = m
    label[region] = torch.where(m, lab_s[src], label[region])
    image[(slice(None), ) + region] = torch.where(m, img_s[(slice(None), ) + src],
                                                  image[(slice(None), ) + region])
    return image, label, pasted


@TASK_UTILS.register_module()
class AdaptiveCutMix(CutMix):
    """AEL's adaptive CutMix of the unlabeled images of a GPU batch.

    For each image, with probability ``prob``: draw a class c from the given
    class distribution (``softmax(1 - Conf)``); among the other images of the
    batch, pick one where the teacher predicts c on at least
    ``area_threshold`` of the crop; cut the bounding box of one (random)
    8-connected component of c with at least ``min_component_area`` of the
    crop from it and paste it at the same place. When no image or component
    qualifies, the box is a random one of ``fallback_area`` from the next
    image (:func:`cutmix_masks`). Images, teacher probabilities and valid
    masks are mixed with the same boxes.

    Args:
        prob (float): Probability that an image is mixed. Defaults to 1.0.
        area_threshold (float): Smallest share of the crop that the class
            must cover in the source image (AEL Cityscapes: 0.01).
        min_component_area (float): Smallest component, as a share of the
            crop (AEL: 0.005 Cityscapes, 0.03 VOC).
        fallback_area (float): Area of the random box. Defaults to 0.5.
    """

    def __init__(self, prob: float = 1.0, area_threshold: float = 0.01,
                 min_component_area: float = 0.005, fallback_area: float = 0.5):
        super().__init__(prob=prob, area=fallback_area)
        for key, value in (('area_threshold', area_threshold),
                           ('min_component_area', min_component_area)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f'AdaptiveCutMix {key} must be in [0, 1), got {value}')
        self.area_threshold = area_threshold
        self.min_component_area = min_component_area

    def adaptive_masks(self, labels: Tensor, class_probs: Tensor,
                       ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor]:
        """Boxes and sources for a batch.

        Args:
            labels (Tensor): (B, H, W) teacher argmax of the un-mixed images
                (``ignore_index`` on padding).
            class_probs (Tensor): (C,) class distribution.

        Returns:
            tuple: (B, H, W) bool masks (True: from the source), (B,) long
            source image of each image, (B,) long class cut (-1: random box).
        """
        B, H, W = labels.shape
        device = labels.device
        masks = torch.zeros(B, H, W, dtype=torch.bool, device=device)
        source = (torch.arange(B, device=device) + 1) % B
        cut = torch.full((B, ), -1, dtype=torch.long, device=device)
        min_pixels = max(1, int(np.ceil(self.min_component_area * H * W)))
        # every class's share of every crop, and the labels, on the host once
        C = len(class_probs)
        flat = labels.flatten(1).long()
        index = torch.where((flat >= 0) & (flat < C), flat, C)
        counts = torch.zeros(B, C + 1, device=device).scatter_add_(
            1, index, torch.ones_like(flat, dtype=torch.float))
        shares = (counts[:, :C] / (H * W)).cpu()
        probs, labels_host = class_probs.float().cpu(), labels.cpu()
        for i in range(B):
            if float(torch.rand(())) >= self.prob:
                continue
            c = int(torch.multinomial(probs, 1))
            share = shares[:, c].clone()
            share[i] = -1.0  # another image
            candidates = torch.nonzero(share >= max(self.area_threshold, 1e-12))[:, 0]
            box = None
            if len(candidates):
                j = int(candidates[torch.randint(len(candidates), ())])
                boxes = component_boxes(labels_host[j] == c, min_pixels)
                if boxes:
                    box = boxes[int(torch.randint(len(boxes), ()))]
                    source[i], cut[i] = j, c
            if box is None:
                masks[i] = cutmix_masks(1, H, W, self.area, 1.0, device)[0]
            else:
                y0, y1, x0, x1 = box
                masks[i, y0:y1, x0:x1] = True
        return masks, source, cut

    @staticmethod
    def mix(masks: Tensor, tensors: List[Tensor], source: Optional[Tensor] = None
            ) -> List[Tensor]:
        """Mix every tensor with the same boxes from ``source`` images."""
        return apply_cutmix(masks, tensors, source)


@TASK_UTILS.register_module()
class AdaptiveCopyPaste:
    """AEL's adaptive copy-paste of labeled objects onto labeled images.

    Each labeled image, with probability ``prob``, receives all pixels of up
    to ``max_classes`` classes of another labeled image of the GPU batch (the
    image itself when it is alone), the classes drawn without replacement
    among those present, weighted by the class distribution
    (``softmax(sqrt(1 - Conf))``); the source is resized by a factor drawn
    uniformly from ``scale_range`` and placed at a uniformly drawn offset
    (:func:`paste_objects`).

    Args:
        prob (float): Probability per image (AEL: 0.5).
        max_classes (int): K (AEL: 3).
        scale_range (tuple[float, float]): Scale jitter (AEL: (0.1, 2.0)).
    """

    def __init__(self, prob: float = 0.5, max_classes: int = 3,
                 scale_range: Sequence[float] = (0.1, 2.0)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'AdaptiveCopyPaste prob must be in [0, 1], got {prob}')
        if max_classes < 1:
            raise ValueError(f'AdaptiveCopyPaste max_classes must be >= 1, got {max_classes}')
        lo, hi = (float(v) for v in scale_range)
        if not 0.0 < lo <= hi:
            raise ValueError(f'AdaptiveCopyPaste scale_range must be (lo, hi) with '
                             f'0 < lo <= hi, got {tuple(scale_range)}')
        self.prob, self.max_classes, self.scale_range = prob, max_classes, (lo, hi)

    def __call__(self, images: Tensor, labels: Tensor, class_probs: Tensor,
                 ignore_index: int = 255) -> Tuple[Tensor, Tensor, Tensor]:
        """Returns the new images, labels and the (B, H, W) pasted mask."""
        B, H, W = labels.shape
        out_img, out_lab = images.clone(), labels.clone()
        pasted = torch.zeros_like(labels, dtype=torch.bool)
        lo, hi = self.scale_range
        for i in range(B):
            if float(torch.rand(())) >= self.prob:
                continue
            j = i if B == 1 else int((i + 1 + torch.randint(B - 1, ())) % B)
            src = labels[j]
            present = torch.unique(src[(src != ignore_index) & (src >= 0)
                                       & (src < len(class_probs))])
            if len(present) == 0:
                continue
            weights = class_probs.float().cpu()[present.cpu()]
            if not bool((weights > 0).any()):
                weights = torch.ones_like(weights)
            k = min(self.max_classes, int((weights > 0).sum()))
            chosen = present[torch.multinomial(weights, k, replacement=False).to(
                present.device)]
            scale = lo + (hi - lo) * float(torch.rand(()))
            h, w = max(1, round(H * scale)), max(1, round(W * scale))
            oy = int(torch.randint(min(0, H - h), max(0, H - h) + 1, ()))
            ox = int(torch.randint(min(0, W - w), max(0, W - w) + 1, ()))
            out_img[i], out_lab[i], pasted[i] = paste_objects(
                out_img[i], out_lab[i], images[j], src, chosen, scale, (oy, ox))
        return out_img, out_lab, pasted
