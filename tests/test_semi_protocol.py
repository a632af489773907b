# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""tools/benchmark/semi_protocol.py on the synthetic data (slow): 2 configs x
1 split x 1 seed, tiny; a killed run is resumed, a finished one is not rerun."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools/benchmark/semi_protocol.py')
TINY = ['train_cfg.max_iters=4', 'train_cfg.val_interval=2', 'param_scheduler.0.end=4',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']


def load_tool():
    """tools/benchmark/semi_protocol.py as a module."""
    spec = importlib.util.spec_from_file_location('semi_protocol', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def protocol(tmp, configs, extra=()):
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests', OMP_NUM_THREADS='1')
    cmd = [sys.executable, TOOL, '--protocol', 'synthetic', '--configs', *configs,
           '--splits', '1-16', '--seeds', '0', '--splits-root', 'data/splits/synthetic',
           '--work-dir', 'work', *extra, '--cfg-options', *TINY]
    proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_protocol_runs_resumes_and_tabulates(tmp_path):
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    generate_synthetic_dataset(str(tmp_path / 'data/synthetic'), num_train=40, num_val=4,
                               seed=4)
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg',
                    '--data-root', 'data/synthetic', '--num-labeled', '8', '--seed', '0',
                    '--out', 'data/splits/synthetic/1-16/seed0'], cwd=tmp_path, check=True,
                   capture_output=True)
    configs = [osp.join(ROOT, f'configs/{m}/{m}_r18-tiny_synthetic_1-16.py')
               for m in ('suponly', 'u2pl')]
    names = [osp.splitext(osp.basename(c))[0] for c in configs]
    u2pl_dir = tmp_path / 'work/synthetic' / names[1] / '1-16/seed0'

    # U2PL is killed (the same config plus a hook that raises) twice: after its
    # iteration-2 checkpoint and validation, then after its last checkpoint
    # (iteration 4) but before the last validation; each time it is reported
    # missing (exit 1); the third call evaluates the last checkpoint
    killed = tmp_path / 'killed' / osp.basename(configs[1])
    killed.parent.mkdir()
    for at_iter, after_val, resumed in ((2, True, False), (4, False, True)):
        killed.write_text(
            f"_base_ = '{configs[1]}'\n"
            "custom_imports = dict(imports=['mmseg_u2pl', 'run_hooks'])\n"
            "default_hooks = dict(interrupt=dict(\n"
            f"    type='InterruptAtHook', at_iter={at_iter}, after_val={after_val}))\n")
        code, out = protocol(tmp_path, [str(killed)])
        assert code == 1 and 'FAILED' in out, out[-3000:]
        assert (u2pl_dir / f'iter_{at_iter}.pth').is_file()
        assert not (u2pl_dir / 'result.json').exists()
        assert ('resumed epoch: 0, iter: 2' in (u2pl_dir / 'train.log').read_text()) == resumed

    # the real configs: SupOnly runs, U2PL has nothing left to train and its
    # last checkpoint is validated with tools/test.py; the tool reports progress
    code, out = protocol(tmp_path, configs, extra=('--progress-every', '0.2'))
    assert code == 0, out[-3000:]
    assert re.search(r'\[semi_protocol\] \S+ 1-16 seed 0: iteration \d+/4, eta ', out), out[-3000:]
    result = json.loads((u2pl_dir / 'result.json').read_text())
    assert result['last_iter'] == 4 and sorted(result['curve']) == ['2', '4']
    assert result['final'] == result['curve']['4'] and result['segments'] == 3
    assert result['killed_segments'] == 0 and result['train_seconds'] > 0
    assert 'running_since' not in json.loads((u2pl_dir / 'protocol_state.json').read_text())
    assert len(result['per_class_iou']) == 6  # the synthetic dataset's classes
    assert (u2pl_dir / 'final_test').is_dir()
    # the run's scalar log, its segments joined (the zoo's log link)
    log = [json.loads(line) for line in (u2pl_dir / 'log.json').read_text().splitlines()]
    train_steps = [r['step'] for r in log if 'mIoU' not in r]
    assert train_steps == sorted(set(train_steps)) and train_steps, log
    assert [r['step'] for r in log if 'mIoU' in r][:1] == [2]
    out_dir = tmp_path / 'work/synthetic'
    summary = json.loads((out_dir / 'results.json').read_text())
    assert {r['config'] for r in summary['runs']} == set(names) and not summary['missing']
    table = (out_dir / 'results.md').read_text()
    for name in names:
        assert f'| {name} | ' in table
        assert (out_dir / f'miou_{name}.png').stat().st_size > 1000
    assert f"| {names[1]} | {result['final']['mIoU']:.2f} (seed 0: " in table
    assert f'| {names[1]} (n=1) | ' in table and 'Per-class IoU at 1-16' in table

    # finished runs are not trained again
    code, out = protocol(tmp_path, configs)
    assert code == 0 and 'tools/train.py' not in out
    assert json.loads((u2pl_dir / 'result.json').read_text())['segments'] == 3


def test_protocol_refuses_unknown_config_and_missing_split(tmp_path):
    code, out = protocol(tmp_path, ['no_such_config'])
    assert code != 0 and 'config not found' in out and 'no_such_config' in out
    cfg = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
    code, out = protocol(tmp_path, [cfg])
    assert code != 0 and 'split list not found' in out and '1-16/seed0/labeled.txt' in out


def test_a_segment_killed_with_the_tool_counts_up_to_its_last_checkpoint(tmp_path):
    tool = load_tool()
    start = 1_000_000.0
    for name, mtime in (('iter_250.pth', start - 50), ('iter_500.pth', start + 700)):
        (tmp_path / name).write_bytes(b'')
        os.utime(tmp_path / name, (mtime, mtime))
    state = tool.settle_killed_segment(
        dict(train_seconds=100.0, segments=1, running_since=start), str(tmp_path))
    # 100 s before + 700 s from the segment's start to its newest checkpoint
    assert state == dict(train_seconds=800.0, segments=2, killed_segments=1)
    # killed before it saved anything: the segment adds no time
    state = tool.settle_killed_segment(
        dict(state, running_since=start + 1000), str(tmp_path))
    assert state == dict(train_seconds=800.0, segments=3, killed_segments=2)
    # a segment that returned left no `running_since`: nothing to settle
    assert tool.settle_killed_segment(dict(train_seconds=1.0, segments=1),
                                      str(tmp_path)) == dict(train_seconds=1.0, segments=1)


def test_a_stale_last_checkpoint_is_repointed_at_the_run_dir(tmp_path):
    from mmseg_u2pl.utils import repoint_last_checkpoint  # tools/train.py --resume calls it
    run = tmp_path / 'moved' / 'seed1'
    run.mkdir(parents=True)
    (run / 'iter_250.pth').write_bytes(b'x')
    pointer = run / 'last_checkpoint'
    # written by another checkout whose work dir no longer exists
    pointer.write_text(str(tmp_path / 'old' / 'seed1' / 'iter_250.pth'))
    assert repoint_last_checkpoint(str(run)) == str(run / 'iter_250.pth')
    assert pointer.read_text() == str(run / 'iter_250.pth')
    # a pointer to an existing file, or to a file the run dir lacks, is left alone
    assert repoint_last_checkpoint(str(run)) is None
    pointer.write_text(str(tmp_path / 'old' / 'seed1' / 'iter_500.pth'))
    assert repoint_last_checkpoint(str(run)) is None
    assert pointer.read_text().endswith('old/seed1/iter_500.pth')
    assert repoint_last_checkpoint(str(tmp_path / 'none')) is None


def test_table_cells_show_every_seed():
    tool = load_tool()
    assert tool.mean_std([47.08, 42.39, 42.75], [0, 1, 2]) == \
        '44.07 ± 2.61 (seeds 0/1/2: 47.08 / 42.39 / 42.75)'
    assert tool.mean_std([45.07], [0]) == '45.07 (seed 0: 45.07)'
    assert tool.mean_std([], []) == '-'


def test_paired_difference_matches_scipy_paired_t_test():
    """Mean, std and 95 % interval of per-seed differences against scipy's
    paired t-test (an independent implementation) on random values."""
    import numpy as np
    from scipy import stats
    tool = load_tool()
    rng = np.random.default_rng(0)
    for n in (2, 3, 5):
        a, b = rng.normal(50, 3, n), rng.normal(50, 3, n)
        seeds = list(rng.permutation(10)[:n])
        d = tool.paired_difference(dict(zip(seeds, a)), dict(zip(seeds, b)))
        ref = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert d['seeds'] == sorted(seeds)
        assert d['mean'] == pytest.approx(float(np.mean(a - b)))
        assert d['std'] == pytest.approx(float(np.std(a - b, ddof=1)))
        assert d['ci'] == pytest.approx((ref.low, ref.high))
    # hand check, U2PL (L_c) − SupOnly at CamVid 1/16: t_{0.975, 2} = 4.303
    d = tool.paired_difference({0: 56.00, 1: 50.38, 2: 45.38}, {0: 53.93, 1: 49.39, 2: 47.48})
    assert d['diffs'] == pytest.approx([2.07, 0.99, -2.10])
    assert d['mean'] == pytest.approx(0.32)
    half = 4.3027 * float(np.std([2.07, 0.99, -2.10], ddof=1)) / 3 ** 0.5
    assert d['ci'] == pytest.approx((0.32 - half, 0.32 + half), abs=1e-3)
    # pairs only the shared seeds; one shared seed has no interval; none -> None
    d = tool.paired_difference({0: 1.0, 1: 2.0}, {1: 0.5, 2: 9.0})
    assert (d['seeds'], d['diffs'], d['std'], d['ci']) == ([1], [1.5], None, None)
    assert tool.paired_difference({0: 1.0}, {1: 1.0}) is None


def test_compare_to_tabulates_paired_differences(tmp_path):
    """--report-only --compare-to: a row per config, baseline and split."""
    tool = load_tool()
    for cfg, vals in (('suponly', (50.0, 48.0, 47.0)), ('u2pl', (52.0, 48.5, 46.0))):
        for seed, v in enumerate(vals):
            run = tmp_path / 'pretrained' / cfg / '1-16' / f'seed{seed}'
            run.mkdir(parents=True)
            (run / 'result.json').write_text(json.dumps(dict(
                config=cfg, split='1-16', seed=seed, final=dict(mIoU=v), best=dict(mIoU=v),
                per_class_iou={}, curve={'1500': dict(mIoU=v)})))
    argv = ['--configs', 'suponly', 'u2pl', '--splits', '1-16', '--seeds', '0', '1', '2',
            '--work-dir', str(tmp_path), '--report-only', '--compare-to', 'suponly']
    assert tool.main(argv) == 0
    out = (tmp_path / 'pretrained' / 'results.md').read_text()
    row = [line for line in out.splitlines() if line.startswith('| u2pl − suponly')]
    assert len(row) == 1 and 'seeds 0/1/2: +2.00 / +0.50 / -1.00' in row[0], out
    assert '+0.50 ± 1.50' in row[0]
    # two baselines: their difference appears once (later − earlier)
    rows = tool.paired_markdown(json.loads((tmp_path / 'pretrained' / 'results.json').read_text())
                                ['runs'], ['suponly', 'u2pl'], ['1-16'], ['suponly', 'u2pl'])
    assert [r.split(' | ')[0] for r in rows if r.startswith('| u2pl −') or
            r.startswith('| suponly −')] == ['| u2pl − suponly']
    with pytest.raises(SystemExit, match='cutmix'):
        tool.main(argv[:-1] + ['cutmix-seg'])


def test_child_env_adds_malloc_reuse_unless_set(monkeypatch):
    tool = load_tool()
    for key in tool.MALLOC_REUSE_ENV:
        monkeypatch.delenv(key, raising=False)
    env = tool.child_env(True)
    assert env['PYTHONPATH'].split(os.pathsep)[0] == ROOT
    assert {k: env[k] for k in tool.MALLOC_REUSE_ENV} == tool.MALLOC_REUSE_ENV
    assert not set(tool.MALLOC_REUSE_ENV) & set(tool.child_env(False))
    monkeypatch.setenv('MALLOC_MMAP_MAX_', '7')  # the user's own setting wins
    assert tool.child_env(True)['MALLOC_MMAP_MAX_'] == '7'


@pytest.mark.slow
def test_train_speed_pairs_runs_and_checks_weights(tmp_path):
    """tools/benchmark/train_speed.py: one round of 2 U2PL iterations with
    and without memory reuse, same weights."""
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    generate_synthetic_dataset(str(tmp_path / 'data/synthetic'), num_train=20, num_val=2,
                               seed=5)
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/make_semi_splits.py'), 'mmseg',
                    '--data-root', 'data/synthetic', '--num-labeled', '4', '--seed', '0',
                    '--out', 'splits/seed0'], cwd=tmp_path, check=True, capture_output=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools/benchmark/train_speed.py'),
           osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'), '--split-dir',
           'splits/seed0', '--iters', '2', '--rounds', '1', '--work-dir', 'work',
           '--cfg-options', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert '| 0 |' in out and '| yes |' in out
    assert 'weights bit-identical in every round: yes' in out


def test_training_log_joins_segments_and_drops_what_was_trained_again(tmp_path):
    tool = load_tool()
    segments = {
        '20260101_000000': [dict(step=50, loss=1.0), dict(step=100, loss=0.9),
                            dict(step=100, mIoU=40.0), dict(step=150, loss=0.8),
                            dict(step=200, loss=0.7)],
        # killed after its iteration-100 checkpoint: resumed, 150 and 200 again
        '20260101_010000': [dict(step=150, loss=0.85), dict(step=200, loss=0.75),
                            dict(step=200, mIoU=45.0)],
    }
    for stamp, recs in segments.items():
        d = tmp_path / stamp / 'vis_data'
        d.mkdir(parents=True)
        (d / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in recs))
    joined = tool.training_log(str(tmp_path))
    assert joined == [dict(step=50, loss=1.0), dict(step=100, loss=0.9),
                      dict(step=100, mIoU=40.0), dict(step=150, loss=0.85),
                      dict(step=200, loss=0.75), dict(step=200, mIoU=45.0)]
    path = tool.write_training_log(str(tmp_path))
    assert [json.loads(x) for x in open(path).read().splitlines()] == joined
