# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""gamma_t (Eq. 6) is computed per rank, on that rank's own unlabeled
pixels, also with a process group running (2 CPU processes, gloo)."""
import os.path as osp
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALPHA = 0.2


def rank_probs(rank):
    """Rank 0: a confident teacher; rank 1: an unsure one."""
    g = torch.Generator().manual_seed(rank)
    logits = torch.randn(2, 4, 8, 8, generator=g) * (6.0 if rank == 0 else 0.5)
    return logits.softmax(dim=1)


def _worker(rank, world, init_file, out_dir):
    sys.path.insert(0, ROOT)
    from mmseg_u2pl.models.utils import entropy_threshold_pseudo_labels
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    _, entropy, reliable, gamma = entropy_threshold_pseudo_labels(rank_probs(rank), ALPHA)
    torch.save(dict(entropy=entropy, reliable=reliable, gamma=gamma),
               f'{out_dir}/rank{rank}.pt')
    dist.destroy_process_group()


def test_gamma_is_each_ranks_own_percentile(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2)
    out = [torch.load(tmp_path / f'rank{r}.pt') for r in range(2)]
    for o in out:
        ent = o['entropy'].flatten().numpy().astype(np.float64)
        # gamma_t is the rank's own 100(1 - alpha) percentile ...
        assert np.isclose(float(o['gamma']), np.percentile(ent, 100 * (1 - ALPHA)), atol=1e-6)
        # ... and every rank drops exactly its own {H >= gamma_t} (distinct entropies)
        unreliable = ent >= np.percentile(ent, 100 * (1 - ALPHA))
        assert np.array_equal(~o['reliable'].flatten().numpy(), unreliable)
        assert o['entropy'][o['reliable']].max() <= o['entropy'][~o['reliable']].min()
    # over all ranks, the confident rank would keep every pixel and the unsure
    # one only 60 % (so the test tells the two policies apart)
    all_ent = torch.cat([o['entropy'].flatten() for o in out]).double().numpy()
    global_gamma = np.percentile(all_ent, 100 * (1 - ALPHA))
    kept_if_global = [float((o['entropy'].double().numpy() < global_gamma).mean())
                      for o in out]
    assert kept_if_global[0] == 1.0 and kept_if_global[1] < 0.7
