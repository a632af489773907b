# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from mmseg_u2pl.engine.hooks import EntropyPartitionHook, MeanTeacherHook, SemiScheduleHook
from mmseg_u2pl.utils import SemiSchedule, current_semi_schedule, publish_semi_schedule


class TwoNets(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.student = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
        self.teacher = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))


def set_schedule(semi_start_iter=0, iters_per_epoch=0.0):
    """What SemiScheduleHook publishes (the EMA hook reads only these)."""
    publish_semi_schedule(SemiSchedule(semi_start_iter=semi_start_iter,
                                       iters_per_epoch=iters_per_epoch))


def runner_at(model, iteration):
    return SimpleNamespace(model=model, iter=iteration)


def flat(module, buffers=False):
    items = module.buffers() if buffers else module.parameters()
    return [t.detach().clone() for t in items]


def test_ema_matches_formula_with_warmup():
    model = TwoNets()
    set_schedule(semi_start_iter=3)
    hook = MeanTeacherHook(decay=0.9)
    # during warm start the teacher is a copy of the student after each step
    assert not all(torch.equal(a, b) for a, b in zip(flat(model.student), flat(model.teacher)))
    hook.after_train_iter(runner_at(model, 1), 0)
    assert all(torch.equal(a, b) for a, b in zip(flat(model.student), flat(model.teacher)))
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    # at the semi start, the teacher becomes the student
    hook.before_train_iter(runner_at(model, 3), 0)
    assert all(torch.equal(a, b) for a, b in zip(flat(model.student), flat(model.teacher)))
    # then EMA with decay min(1 - 1/(k+1), 0.9)
    for it in range(3, 30):
        with torch.no_grad():
            for p in model.student.parameters():
                p.add_(torch.randn_like(p))
            model.student[1].running_mean.add_(1.0)
            model.student[1].num_batches_tracked.add_(1)
        t_before, s = flat(model.teacher), flat(model.student)
        tb_before, sb = flat(model.teacher, True), flat(model.student, True)
        hook.after_train_iter(runner_at(model, it), 0)
        k = it - 3
        d = min(1 - 1 / (k + 1), 0.9)
        for tb, sv, ta in zip(t_before, s, flat(model.teacher)):
            assert torch.allclose(ta, d * tb + (1 - d) * sv, atol=1e-6)
        tm = model.teacher[1]
        assert torch.allclose(tm.running_mean, d * tb_before[0] + (1 - d) * sb[0], atol=1e-6)
        assert torch.equal(tm.num_batches_tracked, model.student[1].num_batches_tracked)


def test_bn_buffers_copy_and_interval():
    model = TwoNets()
    hook = MeanTeacherHook(decay=0.99, bn_buffers='copy', interval=2, warmup=False)
    with torch.no_grad():
        model.student[1].running_var.mul_(3)
    t_before = flat(model.teacher)
    hook.after_train_iter(runner_at(model, 0), 0)  # k=0: (0+1) % 2 != 0 -> skipped
    assert all(torch.equal(a, b) for a, b in zip(t_before, flat(model.teacher)))
    hook.after_train_iter(runner_at(model, 1), 0)
    assert torch.equal(model.teacher[1].running_var, model.student[1].running_var)
    for tb, sv, ta in zip(t_before, flat(model.student), flat(model.teacher)):
        assert torch.allclose(ta, 0.99 * tb + 0.01 * sv, atol=1e-6)


def test_bad_hook_arguments():
    with pytest.raises(ValueError, match='decay'):
        MeanTeacherHook(decay=1.5)
    with pytest.raises(ValueError, match='bn_buffers'):
        MeanTeacherHook(bn_buffers='own')
    with pytest.raises(ValueError, match='warm_start_epochs'):
        SemiScheduleHook(warm_start_epochs=-1)
    # a config of an earlier version gets told what replaced the hook
    with pytest.raises(KeyError, match='SemiScheduleHook.*dynamic_partition'):
        EntropyPartitionHook(warm_start_epochs=1, dynamic=True)


def fake_runner(num_unlabeled=100, per_batch=4, max_iters=250, batch_size=None):
    model = SimpleNamespace()
    sampler = SimpleNamespace(labeled_per_batch=per_batch, unlabeled_per_batch=per_batch)
    loader = SimpleNamespace(sampler=sampler, batch_size=batch_size or 2 * per_batch,
                             dataset=SimpleNamespace(num_unlabeled=num_unlabeled))
    return SimpleNamespace(model=model, train_dataloader=loader, max_iters=max_iters, iter=0,
                           logger=SimpleNamespace(info=lambda *a: None))


def test_schedule_epochs_and_warm_start():
    runner = fake_runner()  # 25 iterations per epoch, 10 epochs
    hook = SemiScheduleHook(warm_start_epochs=2)
    hook.before_train(runner)
    s = current_semi_schedule()
    assert s.iters_per_epoch == 25 and s.total_epochs == 10 and s.semi_start_iter == 50
    assert not hasattr(runner.model, 'semi_start_iter')  # nothing written onto the model
    for it in range(runner.max_iters):
        runner.iter = it
        hook.before_train_iter(runner, 0)
        s = current_semi_schedule()
        assert s.iteration == it and s.epoch == it // 25
        assert s.warm_start == (it < 50) and s.semi_step == it - 50


def test_schedule_fractional_epochs():
    runner = fake_runner(num_unlabeled=90, per_batch=4, max_iters=100)  # 22.5 it/epoch
    hook = SemiScheduleHook(warm_start_epochs=0.5)
    hook.before_train(runner)
    assert current_semi_schedule().semi_start_iter == math.ceil(0.5 * 22.5)
    runner.iter = 99
    hook.before_train_iter(runner, 0)
    assert current_semi_schedule().epoch == math.floor(99 / 22.5)


def test_schedule_default_outside_a_run():
    s = SemiSchedule()
    assert not s.warm_start and s.epoch == 0 and s.total_epochs == 0


def test_schedule_hook_checks_the_loader():
    with pytest.raises(ValueError, match='batch_size=5'):
        SemiScheduleHook().before_train(fake_runner(batch_size=5))
    runner = fake_runner()
    runner.train_dataloader.sampler = SimpleNamespace()
    with pytest.raises(TypeError, match='SemiSupervisedSampler'):
        SemiScheduleHook().before_train(runner)


def _sgd_step(model):
    """Stands in for the optimizer step of the student (weights and BN)."""
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(torch.randn_like(p))
        model.student[1].running_mean.add_(0.5)
        model.student[1].num_batches_tracked.add_(1)


def test_reset_first_epoch_ends_with_teacher_equal_to_student():
    """Authors' code: during the first semi epoch the teacher is the student
    (it aliases the student's tensors, so it follows every SGD step). Driven
    step by step: before, in and after the reset window [2, 5)."""
    model = TwoNets()
    set_schedule(semi_start_iter=2, iters_per_epoch=3)
    hook = MeanTeacherHook(decay=0.9, reset_first_epoch=True)
    for it in range(0, 9):
        runner = runner_at(model, it)
        hook.before_train_iter(runner, 0)
        if 2 <= it < 5:  # pseudo-labels of this step come from the current student
            assert all(torch.equal(a, b) for a, b in zip(flat(model.student),
                                                         flat(model.teacher)))
        _sgd_step(model)
        t_before, s = flat(model.teacher), flat(model.student)
        hook.after_train_iter(runner, 0)
        if it < 5:  # warm start and reset window: teacher == student exactly
            for part in (False, True):
                assert all(torch.equal(a, b) for a, b in
                           zip(flat(model.student, part), flat(model.teacher, part))), it
        else:  # then EMA, warm-up counter k from the semi start
            k = it - 2
            d = min(1 - 1 / (k + 1), 0.9)
            for tb, sv, ta in zip(t_before, s, flat(model.teacher)):
                assert torch.allclose(ta, d * tb + (1 - d) * sv, atol=1e-6)
            assert not torch.equal(flat(model.teacher)[0], flat(model.student)[0])


def test_without_reset_first_epoch_the_teacher_lags_after_the_first_semi_step():
    model = TwoNets()
    set_schedule(semi_start_iter=2, iters_per_epoch=3)
    hook = MeanTeacherHook(decay=0.9)
    for it in range(0, 4):
        hook.before_train_iter(runner_at(model, it), 0)
        _sgd_step(model)
        hook.after_train_iter(runner_at(model, it), 0)
    # k = 0 copies (decay 0), k = 1 averages with decay 1/2
    assert not torch.equal(flat(model.teacher)[0], flat(model.student)[0])
