# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Write labeled / unlabeled split lists for semi-supervised training.

Examples::

    # Cityscapes 1/16 (186 labeled of 2975), seed 0
    python tools/make_semi_splits.py cityscapes --data-root data/cityscapes \\
        --num-labeled 186 --seed 0 --out data/splits/cityscapes/1-16
    # Pascal VOC classic: 92 labeled from the 1464, the rest of the 10582
    # unlabeled
    python tools/make_semi_splits.py voc-classic \\
        --data-root data/VOCdevkit/VOC2012 --num-labeled 92 \\
        --out data/splits/voc_classic/92
    # Pascal VOC blender, 1/8 of the 10582, from a published list
    python tools/make_semi_splits.py voc-blender \\
        --data-root data/VOCdevkit/VOC2012 \\
        --labeled-list published/1323/labeled.txt \\
        --out data/splits/voc_blender/1-8
    # Any MMSeg-format dataset (img_dir/train/*.png), 10% labeled
    python tools/make_semi_splits.py mmseg --data-root data/synthetic_shapes \\
        --fraction 0.1 --out data/splits/synthetic/10pct

The output folder gets ``labeled.txt`` and ``unlabeled.txt`` (one stem per
line, MMSeg ``ann_file`` format).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# the split library lives next to this script (offline tooling, not the package)
from semi_splits import (DATASET_KINDS, import_split, make_split,  # noqa: E402
                         scan_labeled_pool, scan_stems, write_split)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse command line arguments."""
    parser = argparse.ArgumentParser(
        description='Write labeled.txt / unlabeled.txt split lists.')
    parser.add_argument('dataset', choices=DATASET_KINDS, help='dataset kind')
    parser.add_argument(
        '--data-root', required=True, help='dataset root folder')
    parser.add_argument('--out', required=True, help='output folder')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        '--num-labeled', type=int, help='number of labeled images')
    group.add_argument(
        '--fraction',
        type=float,
        help='labeled fraction in (0, 1) of the labeled pool')
    group.add_argument(
        '--labeled-list',
        help='published labeled list to import (one image per line)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the draw (default 0)')
    parser.add_argument(
        '--subset', default='train', help='subset to split (default train)')
    parser.add_argument(
        '--img-suffix',
        default='.png',
        help='image suffix of the mmseg kind (default .png)')
    parser.add_argument(
        '--img-dir',
        default='img_dir',
        help='image folder of the mmseg kind (default img_dir)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        stems = scan_stems(
            args.dataset,
            args.data_root,
            subset=args.subset,
            img_suffix=args.img_suffix,
            img_dir=args.img_dir)
        if args.labeled_list:
            labeled, unlabeled = import_split(stems, args.labeled_list)
        else:
            labeled_pool = scan_labeled_pool(args.dataset, args.data_root,
                                             args.subset)
            labeled, unlabeled = make_split(
                stems,
                num_labeled=args.num_labeled,
                fraction=args.fraction,
                seed=args.seed,
                labeled_pool=labeled_pool)
        labeled_path, unlabeled_path = write_split(args.out, labeled,
                                                   unlabeled)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    source = (f'imported from {args.labeled_list}'
              if args.labeled_list else f'seed {args.seed}')
    print(f'{args.dataset}: pool {len(stems)}, labeled {len(labeled)}, '
          f'unlabeled {len(unlabeled)} ({source})')
    print(f'wrote {labeled_path}')
    print(f'wrote {unlabeled_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
