# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Generate the embedded synthetic shapes dataset (MMSeg layout).

    python tools/dataset_converters/synthetic.py data/synthetic

writes ``img_dir/{train,val}`` and ``ann_dir/{train,val}``; an existing,
complete dataset with the same parameters is kept. The generator itself is
:func:`mmseg_u2pl.datasets.synthetic.generate_synthetic_dataset`.
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import List, Optional, Sequence

# make ``mmseg_u2pl`` importable from a source checkout without installing it
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def main(argv: Optional[Sequence[str]] = None) -> None:
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    parser = argparse.ArgumentParser(
        description='Generate the synthetic shapes segmentation dataset '
        '(MMSeg layout: img_dir/{train,val}, ann_dir/{train,val}).')
    parser.add_argument('root', help='output dataset root')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, default=96)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    generate_synthetic_dataset(args.root, args.num_train, args.num_val, args.size, args.seed)
    counts: List[str] = [
        f'{subset}={len(os.listdir(osp.join(args.root, "img_dir", subset)))}'
        for subset in ('train', 'val')
    ]
    print(f'synthetic shapes dataset at {args.root} ({", ".join(counts)}, '
          f'{time.perf_counter() - start:.2f}s)')


if __name__ == '__main__':
    main()
