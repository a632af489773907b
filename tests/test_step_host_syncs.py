# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The step's pieces rewritten to avoid host synchronisations on a GPU give
the same results as obviously-correct references (issue 15, point 2):
padding masks and the batch split without uploads, per-class counts without
``torch.bincount``, the EMA of the buffers in two ``_foreach`` calls."""
import types

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_u2pl.engine.hooks import MeanTeacherHook
from mmseg_u2pl.models.segmentors import SemiBaseSegmentor
from mmseg_u2pl.models.utils.memory_bank import rank_within_class


def sample(h, w, labeled):
    ds = SegDataSample(metainfo=dict(img_shape=(h, w)))
    if labeled:
        ds.gt_sem_seg = PixelData(data=torch.zeros(1, 8, 8, dtype=torch.long))
    return ds


@pytest.mark.parametrize('sizes', [[(8, 8), (8, 8), (8, 8)], [(8, 8), (5, 7), (3, 8)],
                                   [(1, 1)], [(8, 3), (8, 8)]])
def test_valid_mask_equals_a_loop_over_pixels(sizes):
    samples = [sample(h, w, False) for h, w in sizes]
    got = SemiBaseSegmentor.valid_mask(samples, (8, 8), torch.device('cpu'))
    ref = np.zeros((len(sizes), 8, 8), dtype=bool)
    for i, (h, w) in enumerate(sizes):
        for y in range(8):
            for x in range(8):
                ref[i, y, x] = y < h and x < w
    assert got.dtype == torch.bool
    np.testing.assert_array_equal(got.numpy(), ref)


@pytest.mark.parametrize('order', ['LLUU', 'LULU', 'UULL', 'LUUU'])
def test_split_batch_equals_indexing_and_views_when_labeled_come_first(order):
    fake = types.SimpleNamespace(num_classes=3, ignore_index=255)
    fake.check_labels = lambda ds: SemiBaseSegmentor.check_labels(fake, ds)
    inputs = torch.randn(len(order), 3, 8, 8)
    samples = [sample(8, 8, c == 'L') for c in order]
    x_l, ds_l, x_u, ds_u = SemiBaseSegmentor.split_batch(fake, inputs, samples)
    lab = [i for i, c in enumerate(order) if c == 'L']
    unl = [i for i, c in enumerate(order) if c == 'U']
    assert torch.equal(x_l, inputs[lab]) and torch.equal(x_u, inputs[unl])
    assert ds_l == [samples[i] for i in lab] and ds_u == [samples[i] for i in unl]
    if order.startswith('L' * len(lab)):  # slices: views of the batch, nothing uploaded
        assert x_l.data_ptr() == inputs.data_ptr()


def test_rank_within_class_counts_equal_bincount_and_ranks_a_loop():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 7, (500, ), generator=g)
    rank, counts = rank_within_class(labels, 9)  # 2 classes never drawn
    assert torch.equal(counts, torch.bincount(labels, minlength=9))
    seen = [0] * 9
    for i, c in enumerate(labels.tolist()):
        assert rank[i] == seen[c]
        seen[c] += 1


@pytest.mark.parametrize('bn_buffers', ['ema', 'copy'])
def test_ema_of_buffers_equals_a_loop_over_buffers(bn_buffers):
    torch.manual_seed(0)

    def net():
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                   torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2))
    model = types.SimpleNamespace(student=net(), teacher=net())
    model.student.train()(torch.randn(2, 3, 6, 6))  # move the student's BN statistics
    ref = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    s_state = model.student.state_dict()
    decay = 0.9
    for k in ref:
        if k.endswith(('running_mean', 'running_var')) and bn_buffers == 'ema':
            ref[k] = decay * ref[k] + (1 - decay) * s_state[k]
        elif not (k.endswith('weight') or k.endswith('bias')):  # counters, or 'copy'
            ref[k] = s_state[k].clone()
        else:
            ref[k] = ref[k].lerp(s_state[k], 1 - decay)
    MeanTeacherHook(decay=decay, bn_buffers=bn_buffers).momentum_update(model, decay)
    for k, v in model.teacher.state_dict().items():
        torch.testing.assert_close(v, ref[k], rtol=1e-6, atol=1e-7, msg=k)
    assert model.teacher[1].num_batches_tracked == model.student[1].num_batches_tracked == 1
