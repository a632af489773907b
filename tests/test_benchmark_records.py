# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""README's CamVid numbers are the committed records of the runs.

Every ``benchmarks/camvid/{cpu,pretrained,pretrained-hypotheses/*}/**/result.json``
is a run's record as written by ``tools/benchmark/semi_protocol.py``; the README's
results must quote them (and their mean ± std over seeds) as the tool's own
table formats them.
"""
import glob
import json
import os.path as osp
import re
from collections import defaultdict

import pytest
from test_semi_protocol import load_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECORDS = osp.join(ROOT, 'benchmarks/camvid/cpu')
# record folder -> (protocol or its prefix, README section that quotes it)
SECTIONS = {
    'benchmarks/camvid/cpu': ('cpu', '### Results (`cpu` protocol'),
    'benchmarks/camvid/pretrained': ('pretrained', '### Results (`pretrained` protocol'),
    'benchmarks/camvid/pretrained-hypotheses': ('pretrained',
                                                '### What keeps the unlabeled images'),
}


def records(folder=RECORDS):
    runs = []
    for path in sorted(glob.glob(osp.join(folder, '**/seed*/result.json'), recursive=True)):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def results_section(heading='### Results (`cpu` protocol') -> str:
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    start = text.index(heading)
    end = min(i for i in (text.find('\n## ', start), text.find('\n### ', start + 1))
              if i != -1)
    return text[start:end]


@pytest.mark.parametrize('folder', sorted(SECTIONS))
def test_records_are_complete_runs_of_their_protocol(folder):
    protocol, _ = SECTIONS[folder]
    runs = records(osp.join(ROOT, folder))
    assert runs, f'no records under {folder}'
    for r in runs:
        where = f"{folder}: {r['config']} {r['split']} seed {r['seed']}"
        found = re.search(r'train_cfg\.max_iters=(\d+)', r['command'])
        max_iters = int(found.group(1)) if found else 1500
        assert r['protocol'].startswith(protocol) and r['last_iter'] == max_iters, where
        assert r['final'] == r['curve'][str(max_iters)], where
        assert r['best']['mIoU'] == max(v['mIoU'] for v in r['curve'].values()), where
        assert len(r['per_class_iou']) == 11, where
        assert f"randomness.seed={r['seed']}" in r['command'], where
        assert f"{r['split']}/seed{r['seed']}/labeled.txt" in r['command'], where


@pytest.mark.parametrize('folder', sorted(SECTIONS))
def test_readme_quotes_every_record_and_the_seed_means(folder):
    tool = load_tool()
    section = results_section(SECTIONS[folder][1])
    by_config = defaultdict(list)
    for r in records(osp.join(ROOT, folder)):
        final = f"{r['final']['mIoU']:.2f}"
        assert final in section, (f"README does not quote {r['config']} {r['split']} seed "
                                  f"{r['seed']}: {final}")
        # seeds of one setting: the same protocol and schedule (the hypothesis
        # folders hold runs of other schedules and sizes)
        iters = re.search(r'train_cfg\.max_iters=(\d+)', r['command'])
        setting = (r['protocol'], iters.group(1) if iters else None)
        by_config[(r['config'], r['split'], setting)].append(r)
    for (config, split, _), runs in by_config.items():
        if len(runs) < 2:
            continue
        runs.sort(key=lambda r: r['seed'])
        cell = tool.mean_std([r['final']['mIoU'] for r in runs], [r['seed'] for r in runs])
        mean_std = cell.split(' (')[0]  # '44.07 ± 2.61'
        assert mean_std in section, f'README lacks the mean ± std of {config} {split}: {cell}'


def test_rerun_with_current_code_has_the_same_curve_within_30_minutes():
    """benchmarks/camvid/cpu-rerun: U2PL seed 0 trained again after the
    speed-ups (README, sizing): same val curve and per-class IoU as the
    recorded run, and under the `cpu` protocol's 30 minutes."""
    with open(osp.join(ROOT, 'benchmarks/camvid/cpu-rerun/u2pl/1-8/seed0/result.json')) as f:
        rerun = json.load(f)
    with open(osp.join(RECORDS, 'u2pl/1-8/seed0/result.json')) as f:
        recorded = json.load(f)
    assert sorted(rerun['curve']) == sorted(recorded['curve'])
    for it, metrics in rerun['curve'].items():
        for key, value in metrics.items():
            assert round(value, 2) == round(recorded['curve'][it][key], 2), (it, key)
    assert rerun['per_class_iou'] == recorded['per_class_iou']
    assert rerun['segments'] == 1 and rerun['killed_segments'] == 0
    assert rerun['train_seconds'] < 30 * 60
    with open(osp.join(ROOT, 'README.md')) as f:
        assert f"{rerun['train_seconds']} s" in f.read()
