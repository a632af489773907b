# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""DARS: the distribution-aligned random sampling against a slow reference,
and a 2-round self-training schedule end to end (slow)."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from dars_sampling import (NUM_BINS, class_thresholds, kl_divergence,  # noqa: E402
                           quantize, sample_labels, target_counts)


def slow_thresholds(pred, conf, targets, C):
    """Sort the confidences of each predicted class: t = the n-th largest,
    keep probability n / #{conf >= t} (all pixels when fewer than n)."""
    t, keep = [], []
    for j in range(C):
        vals = sorted((int(v) for v in conf[pred == j]), reverse=True)
        n = int(targets[j])
        if n <= 0 or not vals:
            t.append(NUM_BINS), keep.append(0.0)
        elif n >= len(vals):
            t.append(0), keep.append(1.0)
        else:
            thr = vals[n - 1]
            t.append(thr), keep.append(n / sum(v >= thr for v in vals))
    return np.array(t), np.array(keep)


def histogram(pred, conf, C):
    hist = np.zeros((C, NUM_BINS), np.int64)
    np.add.at(hist, (pred.ravel(), conf.ravel().astype(np.int64)), 1)
    return hist


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_thresholds_and_keep_probabilities_against_sorting(seed):
    rng = np.random.default_rng(seed)
    C = 5
    pred = rng.integers(0, C - 1, 3000)            # class C-1 never predicted
    # coarse confidences: many ties, as the method expects
    conf = quantize(np.round(rng.random(3000) * 20) / 20)
    targets = np.array([100, 2000, 0, 350, 10])
    got_t, got_keep = class_thresholds(histogram(pred, conf, C), targets)
    exp_t, exp_keep = slow_thresholds(pred, conf, targets, C)
    assert got_t.tolist() == exp_t.tolist()
    assert np.allclose(got_keep, exp_keep)


def test_sampled_labels_follow_the_labeled_distribution():
    rng = np.random.default_rng(0)
    C = 4
    pred = rng.choice(C, size=(40, 50, 50), p=[0.7, 0.2, 0.08, 0.02])
    conf = quantize(rng.random(pred.shape))
    labeled = np.array([40, 30, 20, 10])                 # the distribution to align to
    targets = target_counts(0.3, labeled, pred.size)
    assert targets.tolist() == [round(0.3 * s / 100 * pred.size) for s in labeled]
    t, keep = class_thresholds(histogram(pred, conf, C), targets)
    written = np.zeros(C, np.int64)
    for i in range(len(pred)):
        lab = sample_labels(pred[i], conf[i], t, keep, np.random.default_rng([0, i]))
        assert set(np.unique(lab)) <= {0, 1, 2, 3, 255}
        assert (lab[lab != 255] == pred[i][lab != 255]).all()
        written += np.bincount(lab[lab != 255], minlength=C)
    # classes with enough predicted pixels get their target; class 3 has fewer: all of them
    assert np.allclose(written[:3], targets[:3], rtol=0.03)
    assert written[3] == (pred == 3).sum()
    assert kl_divergence(written[:3], labeled[:3]) < 1e-3
    with pytest.raises(ValueError, match='alpha'):
        target_counts(0.0, labeled, 10)


def test_kl_divergence_against_the_formula():
    p, q = np.array([1, 3, 0]), np.array([2, 1, 1])
    exp = 0.25 * np.log(0.25 / 0.5) + 0.75 * np.log(0.75 / 0.25)
    assert kl_divergence(p, q) == pytest.approx(exp)


@pytest.mark.slow
def test_two_rounds_end_to_end(tmp_path):
    """SupOnly (round 0) -> pseudo-labels -> round 1 -> pseudo-labels -> round 2,
    on the synthetic data; resumable; a mismatching config is refused."""
    from _tiny import make_synthetic_split
    make_synthetic_split(tmp_path, seed=3)
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', OMP_NUM_THREADS='1')
    short = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'train_dataloader.num_workers=0',
             'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
             'val_dataloader.persistent_workers=False']

    def run(args):
        proc = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    dars = osp.join(ROOT, 'configs/dars/dars_r18-tiny_synthetic_1-16.py')
    suponly = osp.join(ROOT, 'configs/suponly/suponly_r18-tiny_synthetic_1-16.py')
    cmd = [osp.join(ROOT, 'tools/dars_rounds.py'), dars, '--work-dir', 'dars',
           '--round0-config', suponly, '--cfg-options', 'randomness.seed=1',
           '--train-args', '--cfg-options', *short]
    code, out = run(cmd)
    assert code == 0, out[-6000:]
    for k in (1, 2):
        summary = json.load(open(tmp_path / f'dars/round{k}/pseudo/summary.json'))
        assert summary['alpha'] == (0.2, 0.5)[k - 1] and summary['num_images'] == 40
        written = sum(c['written'] for c in summary['classes'])
        assert 0 < written <= summary['alpha'] * summary['total_pixels'] * 1.05
        assert summary['kl_written_to_labeled'] >= 0
        labels = os.listdir(tmp_path / f'dars/round{k}/pseudo/labels')
        assert len(labels) == 40
        lab = cv2.imread(str(tmp_path / f'dars/round{k}/pseudo/labels' / labels[0]), 0)
        assert set(np.unique(lab)) <= set(range(6)) | {255}
        assert osp.isfile(tmp_path / f'dars/round{k}/train/iter_2.pth')
    # round 2 trains with the wider scale range, from round 1's weights
    round2 = open(tmp_path / 'dars/round2/config.py').read()
    assert 'ratio_range=(\n' in round2 or 'ratio_range=(0.3, 2.5)' in round2
    assert 'round1/train/iter_2.pth' in round2 and 'seed=1' in round2
    assert '[dars] predicted: 40/40' in out and '[dars] round 2' in out
    assert '40/40' in out and 'ETA' in out  # MMEngine's progress bar
    # a second call finds everything done and trains nothing new
    code, again = run(cmd)
    assert code == 0 and 'pseudo-label maps' not in again, again[-3000:]
    # a checkpoint of another network is refused, naming the file and a key
    code, bad = run([osp.join(ROOT, 'tools/dars_pseudo_label.py'), dars,
                     'dars/round0/iter_2.pth', '--split-dir', 'data/splits/synthetic/1-16',
                     '--alpha', '0.2', '--out', 'bad', '--cfg-options',
                     'model.decode_head.num_classes=3'])
    assert code != 0 and 'dars/round0/iter_2.pth does not hold the network of config' in bad
    assert "'decode_head.conv_seg.weight'" in bad


@pytest.mark.slow
def test_dars_protocol_records_each_round(tmp_path):
    """tools/benchmark/dars_protocol.py: round 0 through semi_protocol.py, two
    DARS rounds, one semi_protocol-style record per round that
    ``semi_protocol.py --report-only`` tabulates by name; a second call trains
    nothing."""
    import shutil
    from _tiny import make_synthetic_split
    make_synthetic_split(tmp_path, seed=3)
    split = tmp_path / 'data/splits/synthetic/1-16'
    (split / 'seed0').mkdir()
    for f in ('labeled.txt', 'unlabeled.txt'):
        shutil.copy(split / f, split / 'seed0' / f)
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', OMP_NUM_THREADS='1')
    tiny = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'param_scheduler.0.end=2',
            'default_hooks.checkpoint.interval=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False']
    dars = osp.join(ROOT, 'configs/dars/dars_r18-tiny_synthetic_1-16.py')
    suponly = osp.join(ROOT, 'configs/suponly/suponly_r18-tiny_synthetic_1-16.py')
    common = ['--protocol', 'synthetic', '--splits', '1-16', '--seeds', '0', '--splits-root',
              'data/splits/synthetic', '--work-dir', 'work']
    cmd = [sys.executable, osp.join(ROOT, 'tools/benchmark/dars_protocol.py'), '--config', dars,
           '--round0', suponly, *common, '--cfg-options', *tiny]

    def run(args):
        proc = subprocess.run(args, cwd=tmp_path, env=env, text=True, capture_output=True,
                              timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    code, out = run(cmd)
    assert code == 0, out[-6000:]
    round0 = json.load(open(tmp_path / 'work/synthetic/suponly_r18-tiny_synthetic_1-16/1-16'
                            / 'seed0/result.json'))
    name = 'dars_r18-tiny_synthetic_1-16'
    for k, alpha in ((1, 0.2), (2, 0.5)):
        rec = json.load(open(tmp_path / f'work/synthetic/{name}-round{k}/1-16/seed0/result.json'))
        run_dir = tmp_path / f'work/synthetic/{name}/1-16/seed0/round{k}/train'
        assert rec['config'] == f'{name}-round{k}' and rec['round'] == k
        assert rec['alpha'] == alpha and rec['last_iter'] == 2 and list(rec['curve']) == ['2']
        assert rec['final'] == rec['curve']['2'] and 0 <= rec['final']['mIoU'] <= 100
        # (a 2-iteration round may take under the logs' 1-s resolution)
        assert len(rec['per_class_iou']) == 6 and rec['train_seconds'] >= 0
        assert rec['round0']['final'] == round0['final']
        assert 'randomness.seed=0' in rec['command'] and '1-16/seed0/labeled.txt' in rec['command']
        summary = json.load(open(run_dir.parent / 'pseudo/summary.json'))
        assert rec['pseudo_labels']['kl_written_to_labeled'] == summary['kl_written_to_labeled']
        assert summary['seconds'] > 0 and summary['seed'] == 0
        assert (tmp_path / f'work/synthetic/{name}-round{k}/1-16/seed0/log.json').is_file()
    # round 1 starts from round 0's checkpoint, round 2 from round 1's
    assert 'suponly_r18-tiny_synthetic_1-16/1-16/seed0/iter_2.pth' in open(
        tmp_path / f'work/synthetic/{name}/1-16/seed0/round1/config.py').read()
    # the rounds are tabulated by name beside round 0
    code, table = run([sys.executable, osp.join(ROOT, 'tools/benchmark/semi_protocol.py'),
                       '--configs', suponly, f'{name}-round1', f'{name}-round2', *common,
                       '--report-only', '--compare-to', 'suponly_r18-tiny_synthetic_1-16'])
    assert code == 0 and f'| {name}-round2 |' in table and '3 finished' in table, table[-3000:]
    # finished: a second call trains nothing
    code, again = run(cmd)
    assert code == 0 and 'round 0:' not in again and '1 finished' in again, again[-3000:]


def test_dars_protocol_round_seconds_from_mmengine_log_times():
    sys.path.insert(0, osp.join(ROOT, 'tools/benchmark'))
    import dars_protocol
    text = ('12/31 23:59:50 - mmengine - INFO - start\nsome table line\n'
            '01/01 00:00:20 - mmengine - INFO - Iter(train) [2/2]\n')
    assert dars_protocol.log_seconds(text) == 30.0  # over a year boundary
    text = ('12/01 10:00:00 - mmengine - INFO - a\n12/01 10:25:01 - mmengine - INFO - b\n'
            '12/01 10:30:00 - mmengine - WARNING - c\n')
    assert dars_protocol.log_seconds(text) == 1800.0
    assert dars_protocol.log_seconds('12/01 10:00:00 - mmengine - INFO - a\n') == 0.0
    # the work dir's log file stamps the year (a leap day, over a year boundary)
    text = ('2024/02/29 23:00:00 - mmengine - INFO - a\n'
            '2024/12/31 23:59:59 - mmengine - INFO - b\n2025/01/01 00:00:09 - mmengine - INFO - c\n')
    assert dars_protocol.log_seconds(text) == (366 - 60) * 86400 + 3600 + 9  # Feb 29 is day 60
