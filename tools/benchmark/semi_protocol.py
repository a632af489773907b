# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Run a semi-supervised benchmark: configs x splits x seeds, resumable.

Examples::

    # CamVid `cpu` protocol (configs/_base_/camvid_cpu.py), 1/8, SupOnly and U2PL
    python tools/benchmark/semi_protocol.py --protocol cpu \\
        --configs suponly u2pl --splits 1-8 --seeds 0 1 2
    # the same table again, without training (reads finished runs)
    python tools/benchmark/semi_protocol.py --protocol cpu \\
        --configs suponly u2pl --splits 1-8 --seeds 0 1 2 --report-only
    # ... with U2PL − SupOnly paired by seed and its 95 % interval
    python tools/benchmark/semi_protocol.py --protocol cpu \\
        --configs suponly u2pl --splits 1-8 --seeds 0 1 2 --report-only \\
        --compare-to suponly

A config is a name under ``configs/camvid/`` or a path; ``--protocol P``
selects the CamVid protocol base ``configs/_base_/camvid_P.py`` of those configs
(the tool sets ``CAMVID_PROTOCOL=P`` for its own config loading and for every
child process; the method configs read it). Run
``(config, split, seed)`` trains with ``tools/train.py`` in
``WORK/{protocol}/{config}/{split}/seed{seed}`` on the split lists
``{splits_root}/{split}/seed{seed}/{labeled,unlabeled}.txt`` with
``randomness.seed=seed``, always with ``--resume``: a killed run continues from
its last checkpoint, a finished one (``result.json`` present) is not run
again. The headline number of a run is the validation at its last iteration
(MMSeg's IoUMetric); the best validation over the run is reported separately.

Writes to ``--out`` (default ``WORK/{protocol}``): ``results.json`` (every run:
final and best metrics, per-class IoU, the val curve, training time: wall
seconds of its training segments, a segment whose tool was killed counted up
to its last checkpoint; each run's ``result.json`` and ``log.json``, MMEngine's
scalar log of all its segments, stay in its folder),
``results.md`` (mean ± std over seeds per config and split, and per-class IoU)
and ``miou_{config}.png`` (val mIoU against iteration, one line per split and
seed).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run configs x splits x seeds (resumable) and tabulate val mIoU.')
    parser.add_argument('--protocol', default='pretrained',
                        help='CamVid protocol: base configs/_base_/camvid_PROTOCOL.py of the '
                        'configs/camvid/ method configs (default pretrained); also the '
                        'name of the results folder')
    parser.add_argument('--configs', nargs='+', required=True,
                        help='config names in configs/camvid/, or config paths')
    parser.add_argument('--splits', nargs='+', default=['1-8'], help='split names')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0], help='seeds')
    parser.add_argument('--splits-root', default='data/splits/camvid',
                        help='folder of SPLIT/seedSEED/{labeled,unlabeled}.txt')
    parser.add_argument('--data-root', help='override the data root of every dataset')
    parser.add_argument('--work-dir', default='work_dirs/semi_protocol',
                        help='root of the run folders')
    parser.add_argument('--out', help='where results.{json,md} and the PNGs go '
                        '(default WORK_DIR/PROTOCOL)')
    parser.add_argument('--cfg-options', nargs='+', default=[], action='extend',
                        help='extra key=value overrides passed to every run')
    parser.add_argument('--report-only', action='store_true',
                        help='do not train; tabulate the finished runs')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    parser.add_argument('--compare-to', nargs='+', default=[], metavar='CONFIG',
                        help='also tabulate every other config minus these configs, paired '
                        'by seed (same split lists), with a 95%% t-interval of the mean '
                        'difference')
    parser.add_argument('--progress-every', type=float, default=60.0,
                        help='seconds between two progress lines (iteration, ETA) of a run')
    parser.add_argument('--python', default=sys.executable, help='python for tools/train.py')
    parser.add_argument('--malloc-reuse', action=argparse.BooleanOptionalAction, default=True,
                        help='run training with glibc keeping freed memory for reuse '
                        '(MALLOC_REUSE_ENV; same results, less time; default on)')
    return parser.parse_args(argv)


# glibc hands every freed block above its mmap threshold (32 MB at most) back
# to the kernel and page-faults a fresh one in at the next allocation: a U2PL
# step allocates its (C, M, N, D) negatives (144 MB in the CamVid `cpu`
# protocol) anew each time. With mmap off and no trimming, freed memory is
# reused. Only where and when memory is allocated changes, not what is
# computed: weights after 40 U2PL steps are bit-identical
# (tools/benchmark/train_speed.py). A variable already set is left as it is.
MALLOC_REUSE_ENV = {'MALLOC_MMAP_MAX_': '0', 'MALLOC_TRIM_THRESHOLD_': str(64 << 30)}


def child_env(malloc_reuse: bool) -> Dict[str, str]:
    """Environment of a tools/train.py or tools/test.py child: the package
    on PYTHONPATH and, if ``malloc_reuse``, :data:`MALLOC_REUSE_ENV`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + ([os.environ['PYTHONPATH']] if os.environ.get('PYTHONPATH') else [])))
    if malloc_reuse:
        for key, value in MALLOC_REUSE_ENV.items():
            env.setdefault(key, value)
    return env


PROTOCOL_ENV = 'CAMVID_PROTOCOL'


def protocol_base(protocol: str) -> str:
    return osp.join(ROOT, 'configs', '_base_', f'camvid_{protocol}.py')


def resolve_config(name: str, protocol: str, records: Optional[str] = None) -> str:
    """``configs/camvid/{name}.py`` (its protocol base must exist) or a path;
    with ``records`` (the protocol's results folder, for ``--report-only``), a
    name without a config whose records are there (e.g. ``dars-round1`` of
    tools/benchmark/dars_protocol.py) is returned as it is."""
    if (records and not name.endswith('.py') and osp.isdir(osp.join(records, name))
            and not osp.isfile(osp.join(ROOT, 'configs', 'camvid', f'{name}.py'))):
        return name
    if name.endswith('.py'):
        path = name
    else:
        path = osp.join(ROOT, 'configs', 'camvid', f'{name}.py')
        if not osp.isfile(path):
            raise FileNotFoundError(f'config not found: {path} (from --configs {name})')
        if not osp.isfile(protocol_base(protocol)):
            known = sorted(osp.basename(p)[len('camvid_'):-3] for p in
                           glob.glob(osp.join(ROOT, 'configs', '_base_', 'camvid_*.py')))
            raise FileNotFoundError(
                f'--protocol {protocol}: no protocol base {protocol_base(protocol)}; '
                f'known protocols: {known}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path} (from --configs {name})')
    return path


def config_name(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def split_options(cfg_path: str, split_dir: str, data_root: Optional[str]) -> List[str]:
    """``--cfg-options`` that point the config's training set at ``split_dir``."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    dataset = cfg.train_dataloader.dataset
    lab, unl = osp.join(split_dir, 'labeled.txt'), osp.join(split_dir, 'unlabeled.txt')
    for f in (lab, unl):
        if not osp.isfile(f):
            raise FileNotFoundError(f'split list not found: {f}; create it with '
                                    'tools/make_semi_splits.py')
    key = 'train_dataloader.dataset'
    if dataset.type == 'SemiSegDataset':
        opts = [f'{key}.labeled.ann_file={lab}', f'{key}.unlabeled.ann_file={unl}']
        parts = [f'{key}.labeled', f'{key}.unlabeled']
    elif dataset.type == 'SplitListDataset':
        opts, parts = [f'{key}.dataset.ann_file={lab}'], [f'{key}.dataset']
    else:
        raise ValueError(f'{cfg_path}: train_dataloader.dataset.type must be SemiSegDataset '
                         f'or SplitListDataset, got {dataset.type}')
    if data_root:
        parts += ['val_dataloader.dataset', 'test_dataloader.dataset']
        opts += [f'{p}.data_root={data_root}' for p in parts]
    return opts


def val_curve(run_dir: str) -> Dict[int, dict]:
    """``{iteration: metrics}`` of every validation of the run (all segments)."""
    curve = {}
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'mIoU' in rec:
                    curve[int(rec['step'])] = {k: round(rec[k], 2)
                                               for k in ('mIoU', 'mAcc', 'aAcc') if k in rec}
    return curve


def training_log(run_dir: str) -> List[dict]:
    """MMEngine's scalar log of the run (losses, lr, val metrics per logged
    iteration), its segments joined in order: where a resumed segment starts
    again from a checkpoint, the earlier segment's records from that iteration
    on are dropped (they were trained again)."""
    records: List[dict] = []
    for path in sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            segment = [json.loads(line) for line in f if line.strip()]
        if segment:  # a segment starts where it resumed: drop what it trained again
            start = min(int(r['step']) for r in segment)
            records = [r for r in records if int(r['step']) < start] + segment
    return records


def write_training_log(run_dir: str) -> str:
    """``log.json`` beside ``result.json``: :func:`training_log` as JSON lines
    (the file MMSeg's model zoo links as a run's log)."""
    path = osp.join(run_dir, 'log.json')
    with open(path, 'w') as f:
        for rec in training_log(run_dir):
            f.write(json.dumps(rec) + '\n')
    return path


def per_class_iou(log_text: str) -> Dict[str, float]:
    """Per-class IoU of the last IoUMetric table printed in ``log_text``."""
    tables = re.findall(r'\|\s*Class\s*\|\s*IoU\s*\|.*\n\+[-+]+\+\n((?:\|.*\|\n)+)',
                        log_text)
    if not tables:
        return {}
    result = {}
    for line in tables[-1].splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) >= 2:
            result[cells[0]] = float(cells[1])
    return result


def load_config(cfg_path: str, cfg_options: List[str]):
    """The config with ``key=value`` overrides merged as ``--cfg-options`` does."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(cfg_path)
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    cfg.merge_from_dict(parser.parse_args(['--o', *cfg_options] if cfg_options else []).o)
    return cfg


ITER_LINE = re.compile(r'Iter\(train\) \[\s*(\d+)/(\d+)\].*?eta: ([\d:days, ]+?)\s+time')


def report_progress(proc, log_path: str, what: str, every: float) -> None:
    """Wait for the training process, printing its iteration and ETA (from
    MMEngine's log lines) every ``every`` seconds."""
    last = None
    while True:
        try:
            proc.wait(timeout=every)
            return
        except subprocess.TimeoutExpired:
            pass
        with open(log_path, errors='replace') as f:
            found = ITER_LINE.findall(f.read()[-20000:])
        if found and found[-1] != last:
            last = found[-1]
            it, total, eta = last
            print(f'[semi_protocol] {what}: iteration {it}/{total}, eta {eta.strip()}',
                  flush=True)


def max_iters_of(cfg_path: str, cfg_options: List[str]) -> int:
    max_iters = load_config(cfg_path, cfg_options).train_cfg.get('max_iters')
    if max_iters is None:
        raise SystemExit(f'{cfg_path}: the protocol compares runs of a fixed length; set '
                         'train_cfg.max_iters (this config gives its length in epochs)')
    return int(max_iters)


def evaluate_checkpoint(args, cfg_path, run_dir, max_iters, opts, env, log_path):
    """Validate ``iter_{max_iters}.pth`` with tools/test.py; its metrics."""
    ckpt = osp.join(run_dir, f'iter_{max_iters}.pth')
    if not osp.isfile(ckpt):
        print(f'[semi_protocol] {run_dir} has neither a validation nor a checkpoint at '
              f'iteration {max_iters}', flush=True)
        return None
    cmd = [args.python, osp.join(ROOT, 'tools', 'test.py'), cfg_path, ckpt, '--work-dir',
           osp.join(run_dir, 'final_test'), '--cfg-options', *opts]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    with open(log_path, 'a') as log:
        log.write(proc.stdout + proc.stderr)
    found = re.findall(r'aAcc: ([\d.]+)\s+mIoU: ([\d.]+)\s+mAcc: ([\d.]+)', proc.stdout +
                       proc.stderr)
    if proc.returncode != 0 or not found:
        print(f'[semi_protocol] evaluating {ckpt} failed; see {log_path}', flush=True)
        return None
    a_acc, miou, m_acc = map(float, found[-1])
    return dict(mIoU=miou, mAcc=m_acc, aAcc=a_acc)


def settle_killed_segment(state: dict, run_dir: str) -> dict:
    """Account for a training segment whose tool process was killed.

    Before each segment the tool writes ``running_since`` into
    ``protocol_state.json`` and removes it when the segment returns, so a
    leftover ``running_since`` means this tool itself was killed (e.g. with the
    session) and the segment's time was never added. Its time up to its newest
    checkpoint is added (the work after that checkpoint is done again on
    resume); ``killed_segments`` counts such segments.
    """
    since = state.pop('running_since', None)
    if since is None:
        return state
    saved = [osp.getmtime(p) for p in glob.glob(osp.join(run_dir, 'iter_*.pth'))]
    last_saved = max([t for t in saved if t >= since], default=since)
    state['train_seconds'] += last_saved - since
    state['segments'] += 1
    state['killed_segments'] = state.get('killed_segments', 0) + 1
    return state


def run_metrics(curve: Dict[int, dict], last: int, log_text: str) -> dict:
    """The metric fields of a record: the validation at ``last`` (the
    headline), the best one (picked on val), per-class IoU of the last
    IoUMetric table in ``log_text`` and the whole curve."""
    best = max(curve, key=lambda k: curve[k]['mIoU'])
    return dict(last_iter=last, final=curve[last], best_iter=best, best=curve[best],
                per_class_iou=per_class_iou(log_text),
                curve={str(k): v for k, v in sorted(curve.items())})


def run_one(args, cfg_path: str, split: str, seed: int) -> Optional[dict]:
    name = config_name(cfg_path)
    run_dir = osp.join(args.work_dir, args.protocol, name, split, f'seed{seed}')
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            return json.load(f)
    if args.report_only:
        return None
    split_dir = osp.join(args.splits_root, split, f'seed{seed}')
    opts = split_options(cfg_path, split_dir, args.data_root)
    opts += [f'randomness.seed={seed}', *args.cfg_options]
    cmd = [args.python, osp.join(ROOT, 'tools', 'train.py'), cfg_path, '--work-dir', run_dir,
           '--resume', '--cfg-options', *opts]
    shown = f'{PROTOCOL_ENV}={args.protocol} ' + ' '.join(cmd)  # as a shell would run it
    print(f'[semi_protocol] {name} {split} seed {seed}: {shown}', flush=True)
    if args.dry_run:
        return None
    os.makedirs(run_dir, exist_ok=True)
    state_file = osp.join(run_dir, 'protocol_state.json')
    state = {'train_seconds': 0.0, 'segments': 0}
    if osp.isfile(state_file):
        with open(state_file) as f:
            state = settle_killed_segment(json.load(f), run_dir)
    env = child_env(args.malloc_reuse)
    log_path = osp.join(run_dir, 'train.log')
    start = time.time()
    with open(state_file, 'w') as f:
        json.dump(dict(state, running_since=start), f)
    with open(log_path, 'a') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        report_progress(proc, log_path, f'{name} {split} seed {seed}', args.progress_every)
    state['train_seconds'] += time.time() - start
    state['segments'] += 1
    with open(state_file, 'w') as f:
        json.dump(state, f)
    if proc.returncode != 0:
        print(f'[semi_protocol] FAILED ({proc.returncode}): {name} {split} seed {seed}; see '
              f'{log_path}; run the same command again to resume', flush=True)
        return None
    curve = val_curve(run_dir)
    max_iters = max_iters_of(cfg_path, args.cfg_options)
    if max_iters not in curve:
        # killed between the last checkpoint and its validation: evaluate it now
        final = evaluate_checkpoint(args, cfg_path, run_dir, max_iters, opts, env, log_path)
        if final is None:
            return None
        curve[max_iters] = final
    with open(log_path) as f:
        metrics = run_metrics(curve, max_iters, f.read())
    result = dict(config=name, config_path=osp.relpath(cfg_path, ROOT), protocol=args.protocol,
                  split=split, seed=seed, **metrics,
                  train_seconds=round(state['train_seconds'], 1),
                  segments=state['segments'],
                  killed_segments=state.get('killed_segments', 0), command=shown)
    write_training_log(run_dir)
    with open(result_file, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def mean_std(values: List[float], seeds: List[int]) -> str:
    """``mean ± std (seeds a/b/c: x / y / z)``; every seed's value is shown so
    that methods measured on different numbers of seeds can be compared on the
    seeds they share."""
    if not values:
        return '-'
    per_seed = f"seed{'s' if len(seeds) > 1 else ''} {'/'.join(map(str, seeds))}: " + \
        ' / '.join(f'{v:.2f}' for v in values)
    if len(values) == 1:
        return f'{values[0]:.2f} ({per_seed})'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} ({per_seed})'


def paired_difference(values: Dict[int, float], baseline: Dict[int, float],
                      confidence: float = 0.95) -> Optional[dict]:
    """``values - baseline`` paired by seed (a seed fixes the split lists, so
    the two runs of a seed saw the same labeled images).

    Returns ``seeds``, ``diffs``, their ``mean`` and sample ``std`` and the
    two-sided t-interval of the mean difference at ``confidence``
    (``mean ± t_{(1+confidence)/2, n-1} · std / sqrt(n)``; ``None`` for one
    seed), or ``None`` when the two share no seed. The interval's half width
    is the smallest difference this many seeds can tell from zero at the
    measured spread.
    """
    seeds = sorted(set(values) & set(baseline))
    if not seeds:
        return None
    diffs = [values[s] - baseline[s] for s in seeds]
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return dict(seeds=seeds, diffs=diffs, mean=mean, std=None, ci=None)
    from scipy.stats import t  # an MMSeg dependency
    std = statistics.stdev(diffs)
    half = t.ppf((1 + confidence) / 2, len(diffs) - 1) * std / len(diffs) ** 0.5
    return dict(seeds=seeds, diffs=diffs, mean=mean, std=std, ci=(mean - half, mean + half))


def paired_markdown(results: List[dict], configs: List[str], splits: List[str],
                    baselines: List[str]) -> List[str]:
    """Rows ``config − baseline`` for every split: per-seed differences, mean ±
    std and the 95 % t-interval of the mean (:func:`paired_difference`); a
    pair of baselines appears once, as the later minus the earlier."""
    def by_seed(c, s):
        return {r['seed']: r['final']['mIoU'] for r in results
                if r['config'] == c and r['split'] == s}

    lines = ['', 'Paired by seed (same split lists): config − baseline, val mIoU at the last '
             'iteration; 95 % t-interval of the mean difference.', '',
             '| config − baseline | split | per seed | mean ± std | 95 % interval |',
             '|---|---|---|---|---|']
    for i, b in enumerate(baselines):
        for c in configs:
            if c == b or c in baselines[:i]:  # b − c is already a row
                continue
            for s in splits:
                d = paired_difference(by_seed(c, s), by_seed(b, s))
                if d is None:
                    continue
                per_seed = f"seed{'s' if len(d['seeds']) > 1 else ''} " + \
                    '/'.join(map(str, d['seeds'])) + ': ' + \
                    ' / '.join(f'{v:+.2f}' for v in d['diffs'])
                spread = f"{d['mean']:+.2f}" + ('' if d['std'] is None else
                                                  f" ± {d['std']:.2f}")
                ci = '-' if d['ci'] is None else f"[{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]"
                lines.append(f'| {c} − {b} | {s} | {per_seed} | {spread} | {ci} |')
    return lines


def markdown(results: List[dict], configs: List[str], splits: List[str],
             baselines: Optional[List[str]] = None) -> str:
    lines = ['Val mIoU at the last iteration (headline), mean ± std over seeds; best val '
             'over the run in the second table (marked: picked on val).', '',
             '| config | ' + ' | '.join(splits) + ' |', '|---|' + '---:|' * len(splits)]
    for key in ('final', 'best'):
        if key == 'best':
            lines += ['', '| config (best on val) | ' + ' | '.join(splits) + ' |',
                      '|---|' + '---:|' * len(splits)]
        for c in configs:
            cells = []
            for s in splits:
                rs = sorted((r for r in results if r['config'] == c and r['split'] == s),
                            key=lambda r: r['seed'])
                cells.append(mean_std([r[key]['mIoU'] for r in rs], [r['seed'] for r in rs]))
            lines.append(f'| {c} | ' + ' | '.join(cells) + ' |')
    for s in splits:
        rows = [(c, [r for r in results if r['config'] == c and r['split'] == s])
                for c in configs]
        rows = [(c, rs) for c, rs in rows if rs and rs[0]['per_class_iou']]
        if not rows:
            continue
        classes = list(rows[0][1][0]['per_class_iou'])
        lines += ['', f'Per-class IoU at {s} (last iteration, mean over seeds):', '',
                  '| config | ' + ' | '.join(classes) + ' |',
                  '|---|' + '---:|' * len(classes)]
        for c, rs in rows:
            vals = [statistics.mean(r['per_class_iou'].get(k, float('nan')) for r in rs)
                    for k in classes]
            lines.append(f'| {c} (n={len(rs)}) | ' + ' | '.join(f'{v:.1f}' for v in vals) +
                         ' |')
    if baselines:
        lines += paired_markdown(results, configs, splits, baselines)
    return '\n'.join(lines) + '\n'


def plot(results: List[dict], configs: List[str], out_dir: str) -> List[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    written = []
    for c in configs:
        runs = [r for r in results if r['config'] == c]
        if not runs:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in runs:
            its = [int(k) for k in r['curve']]
            ax.plot(its, [v['mIoU'] for v in r['curve'].values()], marker='o',
                    label=f"{r['split']} seed {r['seed']}")
        ax.set_xlabel('iteration')
        ax.set_ylabel('val mIoU')
        ax.set_title(c)
        ax.grid(alpha=0.3)
        ax.legend()
        path = osp.join(out_dir, f'miou_{c}.png')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import mmseg_u2pl  # noqa: F401  (config types)
    # the CamVid method configs take their protocol base from this variable;
    # children (tools/train.py, tools/test.py) inherit it
    os.environ[PROTOCOL_ENV] = args.protocol
    records = osp.join(args.work_dir, args.protocol) if args.report_only else None
    cfg_paths = [resolve_config(c, args.protocol, records) for c in args.configs]
    names = [config_name(p) for p in cfg_paths]
    unknown = [b for b in args.compare_to if b not in names]
    if unknown:  # refused before any run starts
        raise SystemExit(f'--compare-to {unknown}: not among --configs {names}')
    results, missing = [], []
    for path in cfg_paths:
        for split in args.splits:
            for seed in args.seeds:
                r = run_one(args, path, split, seed)
                if r is None:
                    missing.append(f'{config_name(path)} {split} seed {seed}')
                else:
                    results.append(r)
    if args.dry_run:
        return 0
    out = args.out or osp.join(args.work_dir, args.protocol)
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'results.json'), 'w') as f:
        json.dump(dict(protocol=args.protocol, runs=results, missing=missing), f, indent=1)
    table = markdown(results, names, args.splits, args.compare_to)
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table)
    pngs = plot(results, names, out)
    print(table)
    print(f'[semi_protocol] {len(results)} finished, {len(missing)} missing '
          f'{missing}; wrote {out}/results.json, results.md, {len(pngs)} PNG(s)')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
