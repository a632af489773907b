# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Independent checks of the per-class FIFO memory bank Q_c (U2PL Sec. 3.3).

The reference is one ``collections.deque(maxlen=capacity)`` per class fed in
the same order: appending to a full deque drops its oldest entry (FIFO).
"""
from collections import deque

import numpy as np
import pytest
import torch

from mmseg_u2pl.models.utils.memory_bank import ClassQueueMemoryBank


class RefBank:

    def __init__(self, lengths):
        self.q = [deque(maxlen=n) for n in lengths]
        self.total = [0] * len(lengths)

    def push(self, feats, labels):
        for f, c in zip(feats.tolist(), labels.tolist()):
            self.q[c].append(tuple(f))
            self.total[c] += 1


def rows(t):
    return [tuple(r) for r in t.tolist()]


class FeatureSource:
    """Unique, exactly representable rows so entries can be identified."""

    def __init__(self, dim):
        self.dim = dim
        self.next = 1

    def __call__(self, k):
        ids = torch.arange(self.next, self.next + k, dtype=torch.float32)
        self.next += k
        return ids[:, None] * 10 + torch.arange(self.dim, dtype=torch.float32)[None]


def check_equal(bank, ref, lengths):
    for c, cap in enumerate(lengths):
        exp = list(ref.q[c])
        got = rows(bank.get(c))
        assert got == exp, f'class {c}'
        assert int(bank.count[c]) == len(exp) == min(ref.total[c], cap)
        # next write position of a ring buffer of size cap
        assert int(bank.ptr[c]) == ref.total[c] % cap


def run_random_pushes(bank, lengths, seed, steps=60, max_k=None, dim=3):
    rng = np.random.default_rng(seed)
    ref = RefBank(lengths)
    src = FeatureSource(dim)
    C = len(lengths)
    max_k = max_k or 3 * max(lengths)
    for step in range(steps):
        k = int(rng.integers(0, max_k + 1))
        mode = step % 3
        if mode == 0:  # mixed classes in one push
            labels = rng.integers(0, C, size=k)
        elif mode == 1:  # one class only, often more than its capacity
            labels = np.full(k, rng.integers(0, C))
        else:  # a subset of classes
            sub = rng.choice(C, size=max(1, C // 2), replace=False)
            labels = rng.choice(sub, size=k)
        feats = src(k)
        labels_t = torch.from_numpy(labels.astype(np.int64))
        bank.push(feats, labels_t)
        ref.push(feats, labels_t)
        check_equal(bank, ref, lengths)
    return ref


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_fifo_matches_deque_explicit_lengths(seed):
    lengths = [3, 5, 1, 7, 4]
    bank = ClassQueueMemoryBank(num_classes=5, dim=3, lengths=lengths)
    run_random_pushes(bank, lengths, seed)


@pytest.mark.parametrize('seed', [3, 4])
def test_fifo_matches_deque_background(seed):
    bank = ClassQueueMemoryBank(num_classes=4, dim=3, length=4, background_index=2,
                                background_length=9)
    lengths = [4, 4, 9, 4]
    assert bank.capacity.tolist() == lengths
    run_random_pushes(bank, lengths, seed)


def test_background_default_and_none():
    bank = ClassQueueMemoryBank(num_classes=3, dim=2)
    assert bank.capacity.tolist() == [50000, 30000, 30000]  # suppl. Sec. B
    bank = ClassQueueMemoryBank(num_classes=3, dim=2, length=6, background_index=None)
    assert bank.capacity.tolist() == [6, 6, 6]
    run_random_pushes(bank, [6, 6, 6], seed=5, dim=2)


def test_fifo_small_pushes_many_steps():
    lengths = [2, 3, 8]
    bank = ClassQueueMemoryBank(num_classes=3, dim=3, lengths=lengths)
    run_random_pushes(bank, lengths, seed=6, steps=150, max_k=4)


def test_push_larger_than_capacity_keeps_newest_in_order():
    bank = ClassQueueMemoryBank(num_classes=2, dim=1, lengths=[4, 3])
    feats = torch.arange(1, 11, dtype=torch.float32)[:, None]
    labels = torch.tensor([0, 1, 0, 0, 1, 0, 0, 0, 1, 1])
    bank.push(feats, labels)
    assert rows(bank.get(0)) == [(4.0, ), (6.0, ), (7.0, ), (8.0, )]
    assert rows(bank.get(1)) == [(5.0, ), (9.0, ), (10.0, )]
    bank.push(torch.tensor([[11.0]]), torch.tensor([0]))
    assert rows(bank.get(0)) == [(6.0, ), (7.0, ), (8.0, ), (11.0, )]


def test_empty_push_is_noop():
    bank = ClassQueueMemoryBank(num_classes=2, dim=3, lengths=[2, 2])
    bank.push(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    assert bank.count.tolist() == [0, 0] and bank.ptr.tolist() == [0, 0]
    assert bank.get(0).shape == (0, 3)


def test_push_detaches_and_casts():
    bank = ClassQueueMemoryBank(num_classes=2, dim=2, lengths=[3, 3])
    f = torch.tensor([[1.5, 2.5]], dtype=torch.float64, requires_grad=True)
    bank.push(f, torch.tensor([1]))
    assert rows(bank.get(1)) == [(1.5, 2.5)]
    assert not bank.queue.requires_grad


@pytest.mark.parametrize('seed', [7, 8])
def test_sample_rows_are_in_queue_and_zero_for_empty(seed):
    torch.manual_seed(seed)
    lengths = [3, 5, 2, 4]
    bank = ClassQueueMemoryBank(num_classes=4, dim=3, lengths=lengths)
    ref = run_random_pushes(bank, lengths, seed, steps=7)
    # make class 3 empty in a fresh bank with the same contents for 0..2
    bank2 = ClassQueueMemoryBank(num_classes=4, dim=3, lengths=lengths)
    for c in range(3):
        if len(ref.q[c]):
            bank2.push(torch.tensor(list(ref.q[c])), torch.full((len(ref.q[c]), ), c))
    for b, r in ((bank, ref.q), (bank2, [ref.q[0], ref.q[1], ref.q[2], deque()])):
        classes = torch.tensor([2, 0, 3, 1, 2])
        out = b.sample(classes, 400)
        assert out.shape == (5, 400, 3)
        for k, c in enumerate(classes.tolist()):
            content = set(r[c])
            got = set(rows(out[k]))
            if content:
                assert got <= content
                assert got == content  # 400 uniform draws hit every entry
            else:
                assert (out[k] == 0).all()


def test_sample_after_wraparound_never_returns_stale_or_scratch():
    torch.manual_seed(9)
    bank = ClassQueueMemoryBank(num_classes=2, dim=1, lengths=[3, 6])
    bank.push(torch.arange(1, 21, dtype=torch.float32)[:, None], torch.zeros(20, dtype=torch.long))
    out = bank.sample(torch.tensor([0]), 500)
    assert set(rows(out[0])) == {(18.0, ), (19.0, ), (20.0, )}
    out = bank.sample(torch.tensor([1]), 50)
    assert (out == 0).all()


def test_sample_equals_two_index_gather_with_same_draws():
    """sample() reads rows of the flattened buffer; the same random draws
    gathered with queue[class, slot] give the same tensor."""
    lengths = [5, 3, 7]
    bank = ClassQueueMemoryBank(num_classes=3, dim=4, lengths=lengths)
    run_random_pushes(bank, lengths, 11, steps=5, dim=4)
    classes = torch.tensor([2, 0, 1, 2])
    torch.manual_seed(12)
    got = bank.sample(classes, 9)
    torch.manual_seed(12)
    r = torch.rand(4, 9)
    exp = torch.empty(4, 9, 4)
    for k, c in enumerate(classes.tolist()):
        cnt = int(bank.count[c])
        for j in range(9):
            slot = min(int(r[k, j] * cnt), max(cnt - 1, 0))
            exp[k, j] = bank.queue[c, slot]
    assert torch.equal(got, exp)


def test_sample_is_uniform_over_entries():
    torch.manual_seed(10)
    bank = ClassQueueMemoryBank(num_classes=1, dim=1, lengths=[4])
    bank.push(torch.arange(1, 7, dtype=torch.float32)[:, None], torch.zeros(6, dtype=torch.long))
    out = bank.sample(torch.tensor([0]), 8000)[0, :, 0]
    freq = [(out == v).float().mean().item() for v in (3.0, 4.0, 5.0, 6.0)]
    assert all(abs(f - 0.25) < 0.03 for f in freq), freq


def test_state_dict_round_trip_persistent():
    lengths = [3, 4, 2]
    bank = ClassQueueMemoryBank(num_classes=3, dim=3, lengths=lengths, persistent=True)
    ref = run_random_pushes(bank, lengths, seed=11, steps=10)
    sd = bank.state_dict()
    for key in ('queue', 'ptr', 'count'):
        assert key in sd
    new = ClassQueueMemoryBank(num_classes=3, dim=3, lengths=lengths, persistent=True)
    new.load_state_dict(sd)
    check_equal(new, ref, lengths)
    # FIFO continues correctly after the resume
    src = FeatureSource(3)
    src.next = 10_000
    f = src(5)
    lab = torch.tensor([0, 1, 1, 2, 0])
    new.push(f, lab)
    ref.push(f, lab)
    check_equal(new, ref, lengths)


def test_state_dict_non_persistent_saves_nothing():
    bank = ClassQueueMemoryBank(num_classes=3, dim=3, lengths=[3, 4, 2], persistent=False)
    run_random_pushes(bank, [3, 4, 2], seed=12, steps=5)
    sd = bank.state_dict()
    for key in ('queue', 'ptr', 'count'):
        assert key not in sd
    new = ClassQueueMemoryBank(num_classes=3, dim=3, lengths=[3, 4, 2], persistent=False)
    new.load_state_dict(sd)  # strict load works with nothing saved
    assert new.count.tolist() == [0, 0, 0]


def test_bad_lengths_rejected():
    with pytest.raises(ValueError):
        ClassQueueMemoryBank(num_classes=3, dim=2, lengths=[2, 2])
    with pytest.raises(ValueError):
        ClassQueueMemoryBank(num_classes=2, dim=2, lengths=[2, 0])
