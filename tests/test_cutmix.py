# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Independent checks of CutMix boxes and mixing (docstring rule of cutmix.py)."""
import numpy as np
import pytest
import torch

from mmseg_u2pl.models.utils.cutmix import apply_cutmix, cutmix_masks


def box_of(mask: np.ndarray):
    """(y0, y1, x0, x1) of the True pixels, checking they form one full rectangle."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rect = np.zeros_like(mask)
    rect[y0:y1, x0:x1] = True
    assert (rect == mask).all(), 'CutMix region is not one rectangle'
    return int(y0), int(y1), int(x0), int(x1)


@pytest.mark.parametrize('H,W,ratio', [(16, 16, 0.5), (9, 13, 0.5), (20, 7, 0.3), (8, 8, 0.75),
                                       (5, 32, 0.25)])
def test_masks_follow_area_rule(H, W, ratio):
    torch.manual_seed(0)
    B = 300
    masks = cutmix_masks(B, H, W, area_ratio=ratio, prob=1.0)
    assert masks.shape == (B, H, W) and masks.dtype == torch.bool
    area = H * W * ratio
    widths, x0s, x1s, y0s, y1s = [], [], [], [], []
    for m in masks.numpy():
        box = box_of(m)
        assert box is not None, 'prob=1 must give every image a box'
        y0, y1, x0, x1 = box
        w, h = x1 - x0, y1 - y0
        # width uniform in (W * ratio, W]
        assert W * ratio < w <= W
        # height follows from the area: nearest integer to area / w, clipped to [1, H]
        h_exact = min(H, max(1.0, area / w))
        assert abs(h - h_exact) <= 0.5 + 1e-9, (h, area / w)
        assert 1 <= h <= H
        widths.append(w)
        x0s.append(x0)
        x1s.append(x1)
        y0s.append(y0)
        y1s.append(y1)
    # the whole width range and the whole image are reachable
    assert min(widths) == int(np.floor(W * ratio)) + 1
    assert max(widths) == W
    assert min(x0s) == 0 and max(x1s) == W
    assert min(y0s) == 0 and max(y1s) == H
    # placement is uniform over all positions: boxes narrower / shorter than
    # the image also touch the right / bottom border and the left / top one
    narrow = [(x0, x1) for x0, x1 in zip(x0s, x1s) if x1 - x0 < W]
    short = [(y0, y1) for y0, y1 in zip(y0s, y1s) if y1 - y0 < H]
    if narrow:
        assert any(x1 == W for _, x1 in narrow) and any(x0 == 0 for x0, _ in narrow)
    if short:
        assert any(y1 == H for _, y1 in short) and any(y0 == 0 for y0, _ in short)
    assert narrow or short


def test_mask_area_close_to_ratio():
    torch.manual_seed(1)
    H, W, ratio = 64, 64, 0.5
    masks = cutmix_masks(200, H, W, area_ratio=ratio)
    frac = masks.float().mean(dim=(1, 2))
    assert ((frac - ratio).abs() <= 0.5 * 64 / (H * W) + 1e-6).all()  # off by < half a row


def test_prob_zero_gives_no_box():
    torch.manual_seed(2)
    masks = cutmix_masks(50, 10, 12, area_ratio=0.5, prob=0.0)
    assert masks.shape == (50, 10, 12)
    assert not masks.any()


def test_prob_half_gives_some_boxes():
    torch.manual_seed(3)
    masks = cutmix_masks(400, 6, 6, area_ratio=0.5, prob=0.5)
    has = masks.flatten(1).any(1).float().mean().item()
    assert 0.4 < has < 0.6
    for m in masks.numpy():
        box_of(m)


def test_bad_arguments():
    with pytest.raises(ValueError):
        cutmix_masks(2, 4, 4, area_ratio=0.0)
    with pytest.raises(ValueError):
        cutmix_masks(2, 4, 4, area_ratio=1.0)
    with pytest.raises(ValueError):
        cutmix_masks(2, 4, 4, prob=1.5)


def ref_mix(masks: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Image i takes the box region from image (i + 1) % B; loop per pixel."""
    B = t.shape[0]
    out = t.copy()
    H, W = masks.shape[1:]
    for i in range(B):
        j = (i + 1) % B
        for y in range(H):
            for x in range(W):
                if masks[i, y, x]:
                    out[i, ..., y, x] = t[j, ..., y, x]
    return out


@pytest.mark.parametrize('B', [1, 2, 4])
def test_apply_cutmix_matches_loop(B):
    torch.manual_seed(4)
    H, W = 7, 9
    masks = cutmix_masks(B, H, W, area_ratio=0.5)
    img = torch.randn(B, 3, H, W)
    label = torch.randint(0, 21, (B, H, W))
    probs = torch.rand(B, 5, H, W, dtype=torch.float64)
    entropy = torch.rand(B, H, W)
    out = apply_cutmix(masks, [img, label, probs, entropy])
    assert len(out) == 4
    m = masks.numpy()
    for got, src in zip(out, [img, label, probs, entropy]):
        assert got.shape == src.shape and got.dtype == src.dtype
        np.testing.assert_array_equal(got.numpy(), ref_mix(m, src.numpy()))
    if B == 1:  # the partner of the only image is itself
        np.testing.assert_array_equal(out[0].numpy(), img.numpy())


def test_apply_cutmix_same_boxes_for_every_tensor():
    torch.manual_seed(5)
    B, H, W = 3, 8, 8
    masks = cutmix_masks(B, H, W)
    # tensors whose values encode the source image index
    img = torch.arange(B, dtype=torch.float32)[:, None, None, None].expand(B, 3, H, W).clone()
    label = torch.arange(B)[:, None, None].expand(B, H, W).clone()
    out_img, out_label = apply_cutmix(masks, [img, label])
    src_img = out_img[:, 0].long()
    assert (out_img == out_img[:, :1]).all()
    assert torch.equal(src_img, out_label)
    partner = (torch.arange(B)[:, None, None] + 1) % B
    exp = torch.where(masks, partner.expand(B, H, W), torch.arange(B)[:, None, None])
    assert torch.equal(out_label, exp)


def test_apply_cutmix_empty_mask_is_identity():
    B, H, W = 3, 4, 5
    masks = torch.zeros(B, H, W, dtype=torch.bool)
    x = torch.randn(B, 2, H, W)
    (y, ) = apply_cutmix(masks, [x])
    assert torch.equal(x, y)
