# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The memory bank under 2 CPU processes (gloo): every rank's new negatives
reach every rank's bank, in rank order, with tensor collectives."""
import os.path as osp
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _worker(rank, world, init_file, out_dir):
    sys.path.insert(0, ROOT)
    from mmseg_u2pl.models.utils import ClassQueueMemoryBank
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    bank = ClassQueueMemoryBank(num_classes=3, dim=2, length=4, background_index=0,
                                background_length=6)
    g = torch.Generator().manual_seed(rank)
    for step in range(5):
        n = int(torch.randint(0, 5, (1, ), generator=g)) if rank == 1 or step else 0
        feats = torch.full((n, 2), float(100 * rank + 10 * step)) + torch.arange(n)[:, None]
        labels = torch.randint(0, 3, (n, ), generator=g)
        torch.save(dict(feats=feats, labels=labels), f'{out_dir}/push_{rank}_{step}.pt')
        bank.push(feats, labels)  # rank 0 pushes nothing at step 0
    torch.save({k: v.clone() for k, v in bank.state_dict().items()}, f'{out_dir}/bank_{rank}.pt')
    dist.destroy_process_group()


def test_banks_identical_and_equal_to_rank_ordered_fifo(tmp_path):
    world = 2
    mp.spawn(_worker, args=(world, str(tmp_path / 'init'), str(tmp_path)), nprocs=world)
    banks = [torch.load(tmp_path / f'bank_{r}.pt') for r in range(world)]
    for k in banks[0]:
        assert torch.equal(banks[0][k], banks[1][k]), k
    # reference: one FIFO per class fed with rank 0's then rank 1's entries, step by step
    from collections import deque
    caps = [6, 4, 4]
    ref = [deque(maxlen=c) for c in caps]
    for step in range(5):
        for r in range(world):
            push = torch.load(tmp_path / f'push_{r}_{step}.pt')
            for f, c in zip(push['feats'], push['labels'].tolist()):
                ref[c].append(f.tolist())
    sys.path.insert(0, ROOT)
    from mmseg_u2pl.models.utils import ClassQueueMemoryBank
    bank = ClassQueueMemoryBank(num_classes=3, dim=2, length=4, background_index=0,
                                background_length=6)
    bank.load_state_dict(banks[0])
    for c in range(3):
        assert bank.get(c).tolist() == list(ref[c])
    assert sum(len(q) for q in ref) > 0
