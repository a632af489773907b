# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Synthetic "shapes" segmentation dataset for fast, CPU-sized experiments.

Each image shows a textured background and 1-5 overlapping objects of five
classes that differ by shape and (partly) by texture:

====  ==============  ===================================================
 id   class           shape / usual texture
====  ==============  ===================================================
 0    background      low-frequency colour noise, often faint stripes and
                      thin clutter lines
 1    disk            ellipse close to a circle; mostly shaded (gradient)
 2    square          rotated square / near-square; mostly flat
 3    triangle        rotated, jittered triangle; mostly speckled
 4    ring            annulus (its hole shows what lies beneath); mostly dots
 5    striped_blob    irregular blob; mostly high-contrast stripes
====  ==============  ===================================================

Colours of every object and of the background come from one shared
distribution, so colour alone never tells the class; textures are drawn from
class-dependent but overlapping distributions, so texture alone does not
either. Sizes, positions, rotations and the drawing order (occlusion) are
random, and the rendered image gets a slight blur and Gaussian pixel noise.
Each class has a typical texture (75-90 %) but also the others, so a
network must combine texture and shape; README.md gives SupOnly and U2PL
measured on it.
"""
import colorsys
import json
import os
import os.path as osp
import re
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

__all__ = [
    'SyntheticShapesDataset', 'SYNTHETIC_CLASSES', 'render_sample',
    'generate_synthetic_dataset'
]

SYNTHETIC_CLASSES = ('background', 'disk', 'square', 'triangle', 'ring',
                     'striped_blob')
SYNTHETIC_PALETTE = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25],
                     [0, 130, 200], [245, 130, 48]]

# Bump when the rendering changes, so existing datasets get regenerated.
_GENERATOR_VERSION = 2
_MARKER = '.complete'
_FILE_RE = re.compile(r'^\d{6}\.png$')
_SPLIT_CODES = {'train': 0, 'val': 1}

_TEXTURES = ('flat', 'gradient', 'speckle', 'dots', 'stripes')
# Texture probabilities per object class (rows follow _TEXTURES); they
# overlap so that texture is a cue, not the answer.
_TEXTURE_PROBS = {
    1: (0.05, 0.75, 0.10, 0.05, 0.05),
    2: (0.75, 0.05, 0.10, 0.05, 0.05),
    3: (0.05, 0.05, 0.75, 0.10, 0.05),
    4: (0.10, 0.05, 0.05, 0.75, 0.05),
    5: (0.00, 0.00, 0.05, 0.05, 0.90),
}


@DATASETS.register_module()
class SyntheticShapesDataset(BaseSegDataset):
    """Synthetic shapes dataset (see :func:`generate_synthetic_dataset`).

    In segmentation map annotation for the synthetic shapes dataset, 0 stands
    for background, which is included in 6 categories. ``reduce_zero_label``
    is fixed to False. The ``img_suffix`` and ``seg_map_suffix`` are fixed
    to '.png'.
    """
    METAINFO = dict(classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE)

    def __init__(self,
                 img_suffix='.png',
                 seg_map_suffix='.png',
                 reduce_zero_label=False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)


def _color(rng: np.random.Generator) -> np.ndarray:
    """One RGB colour (float, 0..255) from the distribution shared by all
    classes and the background."""
    h, s, v = rng.random(), rng.uniform(0.15, 1.0), rng.uniform(0.2, 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255.0


def _other_color(rng: np.random.Generator, color: np.ndarray) -> np.ndarray:
    """A second colour for a two-tone texture: a random colour, or a darker /
    brighter version of ``color``."""
    if rng.random() < 0.5:
        return _color(rng)
    return np.clip(color * rng.uniform(0.35, 0.7) +
                   rng.uniform(0, 60), 0, 255).astype(np.float32)


def _stripes(xx: np.ndarray, yy: np.ndarray, period: float, angle: float,
             phase: float) -> np.ndarray:
    """Sine wave in [-1, 1] across the plane."""
    proj = xx * np.cos(angle) + yy * np.sin(angle)
    return np.sin(2 * np.pi * proj / period + phase)


def _background(rng: np.random.Generator, size: int, xx: np.ndarray,
                yy: np.ndarray) -> np.ndarray:
    """Low-frequency colour noise, optional faint stripes and clutter."""
    cells = int(rng.integers(2, 6))
    noise = cv2.resize(
        rng.random((cells, cells)).astype(np.float32), (size, size),
        interpolation=cv2.INTER_CUBIC)
    noise = (noise - noise.min()) / max(float(np.ptp(noise)), 1e-6)
    c1, c2 = _color(rng), _color(rng)
    img = c1 * (1 - noise[..., None]) + c2 * noise[..., None]
    if rng.random() < 0.6:
        wave = _stripes(xx, yy, rng.uniform(4.0, 14.0) * size / 96,
                        rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi))
        img *= (1 + rng.uniform(0.06, 0.22) * wave)[..., None]
    for _ in range(int(rng.integers(0, 3))):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.line(img, p1, p2, _color(rng).tolist(), int(rng.integers(1, 3)))
    return img


def _shape_mask(rng: np.random.Generator, cls: int, size: int, cx: float,
                cy: float, r: float, angle: float) -> np.ndarray:
    """Boolean mask of one object of class ``cls``."""
    mask = np.zeros((size, size), np.uint8)
    deg = float(np.degrees(angle))
    center = (int(round(cx)), int(round(cy)))
    if cls in (1, 4):
        axes = (max(1, int(round(r))),
                max(1, int(round(r * rng.uniform(0.8, 1.0)))))
        cv2.ellipse(mask, center, axes, deg, 0, 360, 1, -1)
        if cls == 4:
            ratio = rng.uniform(0.45, 0.7)
            inner = (max(1, int(round(axes[0] * ratio))),
                     max(1, int(round(axes[1] * ratio))))
            cv2.ellipse(mask, center, inner, deg, 0, 360, 0, -1)
    else:
        if cls == 2:
            half_w = 0.85 * r
            half_h = half_w * rng.uniform(0.8, 1.0)
            pts = np.array([[-half_w, -half_h], [half_w, -half_h],
                            [half_w, half_h], [-half_w, half_h]])
        elif cls == 3:
            ang = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
            ang = ang + rng.uniform(-0.25, 0.25, 3)
            rad = 1.1 * r * rng.uniform(0.85, 1.15, 3)
            pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
        else:
            k = 14
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = rng.uniform(0.55, 1.2, k)
            rad = (np.roll(rad, 1) + rad + np.roll(rad, -1)) / 3 * r
            pts = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
        rot = np.array([[np.cos(angle), -np.sin(angle)],
                        [np.sin(angle), np.cos(angle)]])
        pts = pts @ rot.T + np.array([cx, cy])
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def _texture(rng: np.random.Generator, kind: str, size: int, xx: np.ndarray,
             yy: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    """Full-canvas texture image (float RGB) of one object."""
    c1 = _color(rng)
    if kind == 'flat':
        return np.broadcast_to(c1, (size, size, 3))
    if kind == 'gradient':
        c2 = _other_color(rng, c1)
        if rng.random() < 0.5:  # radial shading, light from one side
            off = rng.uniform(-0.5, 0.5, 2) * r
            t = np.hypot(xx - cx - off[0], yy - cy - off[1]) / (1.5 * r)
        else:
            a = rng.uniform(0, 2 * np.pi)
            t = ((xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)) / (2 * r) + .5
        t = np.clip(t, 0, 1)[..., None]
        return c1 * (1 - t) + c2 * t
    if kind == 'speckle':
        amp = rng.uniform(25, 50)
        grain = cv2.GaussianBlur(
            rng.standard_normal((size, size)).astype(np.float32), (0, 0),
            rng.uniform(0.6, 1.2))
        grain /= max(float(grain.std()), 1e-6)
        return c1 + amp * grain[..., None]
    c2 = _other_color(rng, c1)
    scale = size / 96
    if kind == 'dots':
        period = rng.uniform(5, 8) * scale
        a = rng.uniform(0, np.pi)
        wave = (_stripes(xx, yy, period, a, rng.uniform(0, 6.3)) *
                _stripes(xx, yy, period, a + np.pi / 2, rng.uniform(0, 6.3)))
        t = (wave > 0.5)[..., None]
    else:  # stripes
        wave = _stripes(xx, yy,
                        rng.uniform(3, 8) * scale, rng.uniform(0, np.pi),
                        rng.uniform(0, 2 * np.pi))
        t = (wave > rng.uniform(-0.3, 0.3))[..., None]
    return np.where(t, c2, c1)


def render_sample(rng: np.random.Generator,
                  size: int = 96,
                  max_tries: int = 50) -> Tuple[np.ndarray, np.ndarray]:
    """Render one image and its label map.

    Every returned sample has at least 5% background pixels and 1-5 objects,
    each with a visible part (occlusion permitting; a layout failing these
    checks is redrawn up to ``max_tries`` times).

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Image height and width. Defaults to 96.
        max_tries (int): Redraws allowed for a bad layout. Defaults to 50.

    Returns:
        tuple[np.ndarray, np.ndarray]: (size, size, 3) uint8 RGB image and
        (size, size) uint8 label map with values in 0..5.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    min_visible = max(4, int(0.0015 * size * size))
    for _ in range(max_tries):
        img = _background(rng, size, xx, yy)
        label = np.zeros((size, size), np.uint8)
        instance = np.zeros((size, size), np.int32)
        num_obj = int(rng.integers(1, 6))
        for k in range(1, num_obj + 1):
            cls = int(rng.integers(1, len(SYNTHETIC_CLASSES)))
            r = rng.uniform(0.11, 0.26) * size
            cx, cy = rng.uniform(0.1, 0.9, 2) * size
            mask = _shape_mask(rng, cls, size, cx, cy, r,
                               rng.uniform(0, 2 * np.pi))
            kind = _TEXTURES[rng.choice(
                len(_TEXTURES), p=_TEXTURE_PROBS[cls])]
            tex = _texture(rng, kind, size, xx, yy, cx, cy, r)
            img[mask] = tex[mask]
            label[mask] = cls
            instance[mask] = k
        visible = np.bincount(instance.ravel(), minlength=num_obj + 1)
        if (visible[0] >= 0.05 * size * size
                and visible[1:].min() >= min_visible):
            break
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.0))
    img = img + rng.standard_normal(img.shape).astype(
        np.float32) * rng.uniform(3, 9)
    return np.clip(np.round(img), 0, 255).astype(np.uint8), label


def _params(num_train: int, num_val: int, size: int, seed: int) -> Dict:
    return dict(
        generator='SyntheticShapesDataset',
        version=_GENERATOR_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        size=int(size),
        seed=int(seed))


def _read_marker(path: str) -> Optional[Dict]:
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def generate_synthetic_dataset(root: str,
                               num_train: int = 300,
                               num_val: int = 60,
                               size: int = 96,
                               seed: int = 0) -> str:
    """Write the synthetic shapes dataset in MMSeg layout under ``root``.

    Deterministic: image ``i`` of a subset depends only on ``(seed, subset,
    i)`` and ``size``, so the same call writes identical files, and changing
    ``num_val`` does not change the train images. Idempotent: a marker file
    ``root/.complete`` records the parameters; if it matches, nothing is
    written. Otherwise this generator's files (``NNNNNN.png``) in the four
    data folders are replaced.

    Args:
        root (str): Dataset root.
        num_train (int): Number of training images. Defaults to 300.
        num_val (int): Number of validation images. Defaults to 60.
        size (int): Image height and width. Defaults to 96.
        seed (int): Seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    if num_train < 1:
        raise ValueError(f'num_train must be >= 1, got {num_train}')
    if num_val < 0:
        raise ValueError(f'num_val must be >= 0, got {num_val}')
    if size < 32:
        raise ValueError(f'size must be >= 32, got {size}')
    params = _params(num_train, num_val, size, seed)
    marker = osp.join(root, _MARKER)
    if _read_marker(marker) == params:
        return root
    if osp.exists(marker):
        os.remove(marker)
    counts = {'train': num_train, 'val': num_val}
    for subset, count in counts.items():
        img_dir = osp.join(root, 'img_dir', subset)
        ann_dir = osp.join(root, 'ann_dir', subset)
        for folder in (img_dir, ann_dir):
            os.makedirs(folder, exist_ok=True)
            for name in os.listdir(folder):
                if _FILE_RE.match(name):
                    os.remove(osp.join(folder, name))
        for i in range(count):
            rng = np.random.default_rng([seed, _SPLIT_CODES[subset], i])
            img, label = render_sample(rng, size)
            name = f'{i:06d}.png'
            if not (cv2.imwrite(
                    osp.join(img_dir, name), cv2.cvtColor(
                        img, cv2.COLOR_RGB2BGR))
                    and cv2.imwrite(osp.join(ann_dir, name), label)):
                raise OSError(f'failed to write {name} under {root}')
    tmp = marker + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(params, f, indent=1, sort_keys=True)
    os.replace(tmp, marker)
    return root
