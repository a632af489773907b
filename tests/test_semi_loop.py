# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""SemiIterBasedTrainLoop: a run's length in epochs of the unlabeled set."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmseg_u2pl.engine.runner.loops as loops
from mmseg_u2pl.engine import SemiIterBasedTrainLoop

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class StubLoader(SimpleNamespace):
    """What the loop reads of a loader: a semi loader has a sampler with
    unlabeled_per_batch, a SupOnly loader only its batch size."""

    def __iter__(self):
        return iter(())


def stub_loader(num_unlabeled, batch_size, unlabeled_per_batch=None):
    sampler = SimpleNamespace(unlabeled_per_batch=unlabeled_per_batch) \
        if unlabeled_per_batch else SimpleNamespace()
    return StubLoader(dataset=SimpleNamespace(num_unlabeled=num_unlabeled),
                      sampler=sampler, batch_size=batch_size)


def build_loop(loader, world_size=1, **kwargs):
    loops.get_world_size = lambda: world_size
    try:
        return SemiIterBasedTrainLoop(SimpleNamespace(visualizer=SimpleNamespace()),
                                      loader, **kwargs)
    finally:
        from mmengine.dist import get_world_size
        loops.get_world_size = get_world_size


@pytest.mark.parametrize('epochs,n_u,per_gpu,world', [
    (200, 2975 - 186, 2, 8),     # Cityscapes 1/16, the paper's 8 GPUs x (2 + 2)
    (200, 2975 - 1488, 2, 8),
    (80, 10582 - 92, 4, 4),      # VOC classic 92, 4 GPUs x (4 + 4)
    (80, 10582 - 5291, 4, 4),
    (80, 10582 - 92, 4, 2),      # on fewer GPUs: the same epochs, more iterations
    (2.5, 40, 2, 1), (1, 7, 3, 1), (0.1, 10, 4, 3)])
def test_iterations_from_epochs(epochs, n_u, per_gpu, world):
    # reference: the integer ceiling the configs used to compute by hand
    expected = -(-round(epochs * 10) * n_u // (per_gpu * world * 10))
    semi = build_loop(stub_loader(n_u, 2 * per_gpu, per_gpu), world, max_epochs=epochs)
    assert semi.max_iters == expected
    # SupOnly, same labeled batch: as many iterations as its semi twin
    sup = build_loop(stub_loader(n_u, per_gpu), world, max_epochs=epochs)
    assert sup.max_iters == expected
    assert build_loop(stub_loader(n_u, per_gpu), world, max_iters=123).max_iters == 123


# the iterations the configs wrote by hand before the loop counted them
# (config: labeled images, pool, former max_iters)
FORMER = {
    'cityscapes_1-16': (186, 2975, 34863), 'cityscapes_1-8': (372, 2975, 32538),
    'cityscapes_1-4': (744, 2975, 27888), 'cityscapes_1-2': (1488, 2975, 18588),
    'voc-blender_1-16': (662, 10582, 49600), 'voc-blender_1-8': (1323, 10582, 46295),
    'voc-blender_1-4': (2646, 10582, 39680), 'voc-blender_1-2': (5291, 10582, 26455),
    'voc-classic_92': (92, 10582, 52450), 'voc-classic_183': (183, 10582, 51995),
    'voc-classic_366': (366, 10582, 51080), 'voc-classic_732': (732, 10582, 49250),
    'voc-classic_1464': (1464, 10582, 45590)}


@pytest.mark.parametrize('name', sorted(FORMER))
def test_paper_iteration_counts(name):
    """Each paper config, at the paper's GPUs, trains as long as before."""
    labeled, pool, former = FORMER[name]
    for method in ('u2pl', 'suponly', 'mean-teacher', 'cutmix-seg', 'cps'):
        folder = method.replace('-', '_')
        cfg = Config.fromfile(osp.join(ROOT, f'configs/{folder}/{method}_r101_{name}.py'))
        loop = dict(cfg.train_cfg)
        assert loop.pop('type') == 'SemiIterBasedTrainLoop'
        world = 8 if name.startswith('cityscapes') else 4
        per_gpu = cfg.train_dataloader.get('sampler', {}).get('unlabeled_per_batch') or \
            cfg.train_dataloader.batch_size
        loader = stub_loader(pool - labeled, per_gpu)
        assert build_loop(loader, world, **loop).max_iters == former, method


@pytest.mark.parametrize('kwargs,match', [
    (dict(), 'exactly one of max_iters and max_epochs'),
    (dict(max_iters=10, max_epochs=2), 'exactly one of max_iters and max_epochs'),
    (dict(max_epochs=0), 'max_epochs must be a number > 0, got 0'),
    (dict(max_epochs='200'), "got '200'")])
def test_bad_length_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_loop(stub_loader(10, 2, 1), **kwargs)


def test_loader_without_unlabeled_set_refused():
    loader = StubLoader(dataset=SimpleNamespace(), sampler=SimpleNamespace(), batch_size=2)
    with pytest.raises(TypeError, match='SplitListDataset with split_dir'):
        build_loop(loader, max_epochs=3)


def test_runner_poly_schedule_ends_with_the_loop(tmp_path, monkeypatch):
    """Through MMEngine's Runner: the loop counts the split's unlabeled images
    and a PolyLR without `end` ends at the loop's last iteration."""
    from _tiny import make_synthetic_split
    make_synthetic_split(tmp_path, seed=3)
    monkeypatch.chdir(tmp_path)
    for name in ('u2pl/u2pl_r18-tiny_synthetic_1-16.py',
                 'suponly/suponly_r18-tiny_synthetic_1-16.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        cfg.work_dir = str(tmp_path / 'work')
        cfg.train_cfg = dict(type='SemiIterBasedTrainLoop', max_epochs=2.5,
                             val_interval=1000)
        dataset = cfg.train_dataloader.dataset
        if dataset.type == 'SplitListDataset':  # SupOnly: the split folder
            dataset.split_dir = osp.dirname(dataset.dataset.pop('ann_file'))
        runner = Runner.from_cfg(cfg)
        per_iter = cfg.train_dataloader.get('sampler', {}).get('unlabeled_per_batch') or \
            cfg.train_dataloader.batch_size
        assert runner.train_loop.max_iters == -(-25 * 40 // (per_iter * 10))  # 40 unlabeled
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        schedulers = runner.build_param_scheduler(runner.param_schedulers)
        assert schedulers[0].end == runner.train_loop.max_iters
