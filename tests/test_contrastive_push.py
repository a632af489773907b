# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import torch

from mmseg_u2pl.models.heads import U2PLContrastiveHead
from mmseg_u2pl.models.utils.memory_bank import rank_within_class


def test_rank_within_class_matches_loop():
    labels = torch.randint(0, 5, (200, ), generator=torch.Generator().manual_seed(0))
    rank, counts = rank_within_class(labels, 6)
    seen = [0] * 6
    for i, c in enumerate(labels.tolist()):
        assert rank[i] == seen[c]
        seen[c] += 1
    assert counts.tolist() == seen


def test_push_cap_keeps_at_most_cap_negatives_per_class():
    head = U2PLContrastiveHead(in_channels=8, num_classes=4, channels=4, low_rank=1,
                               high_rank=3, max_push_per_class=5,
                               norm_cfg=dict(type='BN'))
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(100, 4, generator=g) < 0.4
    mask[:, 3] = False
    mask[0, 3] = True  # a class with a single negative keeps it
    pix, cls = head._select_push(mask)
    counts = torch.bincount(cls, minlength=4)
    assert counts.tolist() == [5, 5, 5, 1]
    assert mask[pix, cls].all()  # only real negatives
    assert len(set(zip(pix.tolist(), cls.tolist()))) == len(pix)  # no duplicates
    head.max_push_per_class = None
    pix, cls = head._select_push(mask)
    assert len(pix) == int(mask.sum())
