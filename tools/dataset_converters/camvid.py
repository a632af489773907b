# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Lay out CamVid (SegNet version) the way the CamVid configs expect.

    python tools/dataset_converters/camvid.py [--src ../shared/data/camvid] [--out data/camvid]

writes ``OUT/img_dir/{train,val}`` (symbolic links to the source images; use
``--copy`` to copy them) and ``OUT/ann_dir/{train,val}`` (the labels with the
"Unlabelled" value 11 mapped to MMSeg's ignore index 255). The source is read
only and nothing under ``data/`` is committed. Running it again replaces the
output.
"""
import argparse
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np

NUM_CLASSES = 11
SRC_IGNORE, IGNORE = 11, 255


def convert(src: str, out: str, copy: bool = False) -> dict:
    """Convert ``src`` into ``out``; returns the number of images per subset."""
    counts = {}
    for subset in ('train', 'val'):
        img_src, ann_src = osp.join(src, subset), osp.join(src, f'{subset}annot')
        for d in (img_src, ann_src):
            if not osp.isdir(d):
                raise FileNotFoundError(f'CamVid folder not found: {d} (--src {src})')
        img_out, ann_out = osp.join(out, 'img_dir', subset), osp.join(out, 'ann_dir', subset)
        for d in (img_out, ann_out):
            if osp.islink(d):
                os.unlink(d)
            elif osp.isdir(d):
                shutil.rmtree(d)
            os.makedirs(d)
        names = sorted(n for n in os.listdir(img_src) if n.endswith('.png'))
        if not names:
            raise ValueError(f'no .png images in {img_src}')
        for name in names:
            label_path = osp.join(ann_src, name)
            label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
            if label is None:
                raise FileNotFoundError(f'label of {name} missing or unreadable: {label_path}')
            if label.ndim != 2 or label.max() > SRC_IGNORE:
                raise ValueError(f'{label_path}: expected a single-channel map of values '
                                 f'0..{SRC_IGNORE}, got shape {label.shape}, max {label.max()}')
            label = np.where(label == SRC_IGNORE, IGNORE, label).astype(np.uint8)
            cv2.imwrite(osp.join(ann_out, name), label)
            target = osp.join(img_out, name)
            if copy:
                shutil.copyfile(osp.join(img_src, name), target)
            else:
                os.symlink(osp.abspath(osp.join(img_src, name)), target)
        counts[subset] = len(names)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    parser.add_argument('--src', default=osp.join(osp.dirname(root), 'shared/data/camvid'),
                        help='CamVid source (train/, trainannot/, val/, valannot/)')
    parser.add_argument('--out', default='data/camvid', help='output root')
    parser.add_argument('--copy', action='store_true', help='copy images instead of linking')
    args = parser.parse_args(argv)
    counts = convert(args.src, args.out, args.copy)
    print(f'CamVid written to {args.out}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
