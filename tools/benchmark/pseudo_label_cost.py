# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""What U2PL's pseudo-labelling (Eq. 5-6) costs, and what reading gamma_t
from the ranks it already sorted saves, side by side in one run.

    python tools/benchmark/pseudo_label_cost.py [--device cpu|cuda] [--repeat 20]

For each size (the CamVid protocol's 4 x 160 x 160 with 11 classes, the
Cityscapes setting's 2 x 769 x 769 with 19), alternating per repeat:

- ``step``: :func:`entropy_threshold_pseudo_labels` as the training step
  calls it (k and gamma_t from the same reads of the sorted entropies);
- ``count + percentile``: the same k and gamma_t computed the way the step
  did before, :func:`num_unreliable_pixels` and then
  :func:`entropy_percentile`, which sorts the sorted entropies again and
  reads them again (host synchronisations on a GPU).

Prints median milliseconds and the share of the step the removed work was.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SIZES = (('CamVid pretrained, 4 x 160 x 160, 11 classes', (4, 11, 160, 160)),
         ('Cityscapes, 2 x 769 x 769, 19 classes', (2, 19, 769, 769)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--repeat', type=int, default=20)
    p.add_argument('--alpha', type=float, default=0.2)
    args = p.parse_args(argv)
    from mmseg_u2pl.models.utils.pseudo_labeling import (
        _unreliable_count_and_threshold, entropy_percentile, entropy_threshold_pseudo_labels,
        num_unreliable_pixels, pixel_entropy)
    dev = torch.device(args.device)

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    def timed(fn):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - t0

    for name, shape in SIZES:
        g = torch.Generator().manual_seed(0)
        probs = (torch.randn(shape, generator=g) * 3).softmax(1).to(dev)
        sorted_ent = pixel_entropy(probs).reshape(-1).sort().values
        q = 100.0 * (1.0 - args.alpha)
        k_old = num_unreliable_pixels(sorted_ent, args.alpha)
        g_old = float(entropy_percentile(sorted_ent, q))
        k_new, g_new = _unreliable_count_and_threshold(sorted_ent, args.alpha)
        # the step stores gamma in the entropies' dtype, as entropy_percentile does
        assert (k_old, g_old) == (k_new, torch.tensor(g_new, dtype=sorted_ent.dtype).item())
        times = {'step': [], 'count + percentile': [], 'count + threshold (one read)': []}
        for _ in range(args.repeat):
            times['step'].append(timed(
                lambda: entropy_threshold_pseudo_labels(probs, args.alpha)))
            times['count + percentile'].append(timed(
                lambda: (num_unreliable_pixels(sorted_ent, args.alpha),
                         entropy_percentile(sorted_ent, q))))
            times['count + threshold (one read)'].append(timed(
                lambda: _unreliable_count_and_threshold(sorted_ent, args.alpha)))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f'[pseudo_label_cost] {name} on {dev} ({torch.get_num_threads()} threads, '
              f'median of {args.repeat}):')
        for k, v in med.items():
            print(f'  {k:30s} {v:9.3f} ms')
        saved = med['count + percentile'] - med['count + threshold (one read)']
        print(f'  saved per step: {saved:.3f} ms = {saved / (med["step"] + saved):.1%} of the '
              f'pseudo-labelling it was part of')


if __name__ == '__main__':
    main()
