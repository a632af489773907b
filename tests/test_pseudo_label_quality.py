# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""PseudoLabelQuality against a slow NumPy loop (continuous random
probabilities: no entropy ties, so the reliable set is unique)."""
import numpy as np
import pytest
import torch

from mmseg_u2pl.evaluation import PseudoLabelQuality

C, IGNORE = 4, 255


def reference(batches, alpha):
    rel = dict(n=0, ok=0, ent=0.0)
    unrel = dict(n=0, ok=0, ent=0.0)
    inter, union = np.zeros(C), np.zeros(C)
    prec = np.zeros((2, 2, C))
    kept, total = np.zeros(C), np.zeros(C)
    for probs, gt in batches:
        p = probs.double().numpy()
        g = gt.numpy()
        ent = -(p * np.log(p)).sum(1)  # (B, H, W)
        # Eq. 6: H >= np.percentile(H, 100 (1 - alpha)) is unreliable (none if alpha = 0)
        cut = np.percentile(ent, 100 * (1 - alpha)) if alpha > 0 else np.inf
        label = p.argmax(1)
        for idx in np.ndindex(*g.shape):
            reliable = not ent[idx] >= cut
            if g[idx] == IGNORE:
                continue
            d = rel if reliable else unrel
            ok = int(label[idx] == g[idx])
            d['n'] += 1
            d['ok'] += ok
            d['ent'] += ent[idx]
            prec[0 if reliable else 1, 0, label[idx]] += 1
            prec[0 if reliable else 1, 1, label[idx]] += ok
            total[g[idx]] += 1
            kept[g[idx]] += reliable
            if ok:
                inter[g[idx]] += 1
            union[g[idx]] += 1
            union[label[idx]] += 1 - ok
    return rel, unrel, inter, union, prec, kept, total


@pytest.mark.parametrize('alpha', [0.0, 0.2, 0.5])
def test_matches_a_pixel_loop(alpha):
    g = torch.Generator().manual_seed(3)
    batches = []
    for _ in range(3):
        probs = (torch.randn(2, C, 5, 6, generator=g) * 2).softmax(1)
        gt = torch.randint(0, C, (2, 5, 6), generator=g)
        gt[torch.rand(2, 5, 6, generator=g) < 0.2] = IGNORE
        batches.append((probs, gt))
    q = PseudoLabelQuality(C, alpha, IGNORE)
    for probs, gt in batches:
        q.update(probs, gt)
    res = q.compute()
    rel, unrel, inter, union, prec, kept, total = reference(batches, alpha)
    n = rel['n'] + unrel['n']
    assert res['reliable']['fraction'] == pytest.approx(100 * rel['n'] / n)
    assert res['reliable']['accuracy'] == pytest.approx(100 * rel['ok'] / rel['n'])
    assert res['reliable']['mean_entropy'] == pytest.approx(rel['ent'] / rel['n'])
    if unrel['n']:
        assert res['unreliable']['accuracy'] == pytest.approx(100 * unrel['ok'] / unrel['n'])
        assert res['unreliable']['mean_entropy'] == pytest.approx(unrel['ent'] / unrel['n'])
    else:
        assert np.isnan(res['unreliable']['accuracy'])
    assert res['all_accuracy'] == pytest.approx(100 * (rel['ok'] + unrel['ok']) / n)
    iou = 100 * inter / union
    assert res['teacher_miou'] == pytest.approx(iou.mean())
    for c in range(C):
        r = res['per_class'][str(c)]
        assert r['iou'] == pytest.approx(iou[c])
        assert r['kept_as_reliable'] == pytest.approx(100 * kept[c] / total[c])
        if prec[0, 0, c]:
            assert r['reliable_precision'] == pytest.approx(100 * prec[0, 1, c] / prec[0, 0, c])
