# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""DARS under the semi-supervised protocol: its rounds recorded like any run.

Example::

    # CamVid `pretrained` protocol, 1/8, 3 seeds; then the table beside SupOnly
    python tools/benchmark/dars_protocol.py --protocol pretrained --splits 1-8 --seeds 0 1 2
    python tools/benchmark/semi_protocol.py --protocol pretrained --report-only \\
        --configs suponly dars-round1 dars-round2 --splits 1-8 --seeds 0 1 2 \\
        --compare-to suponly

DARS is offline self-training (tools/dars_rounds.py), not one training run, so
``semi_protocol.py`` cannot run it. This tool does, per ``(split, seed)``:

1. round 0: the SupOnly run of ``semi_protocol.py`` (``--round0``, default
   ``suponly``) in ``ROUND0_WORK/{protocol}/suponly/{split}/seed{seed}``,
   trained first if it is not finished (``--round0-work-dir``, default
   ``--work-dir``: DARS then starts from the very run the tables show as
   SupOnly);
2. the rounds of ``--config`` (default ``dars``, its ``dars.rounds``) with
   tools/dars_rounds.py in ``WORK/{protocol}/{config}/{split}/seed{seed}``, on
   the same split lists, with ``randomness.seed=seed`` and the pseudo-label
   sampling seeded by ``seed`` (resumable: run again to continue);
3. a record per round k in ``WORK/{protocol}/{config}-round{k}/{split}/seed{seed}``:
   ``result.json`` in ``semi_protocol.py``'s format (val curve, final and best
   mIoU, per-class IoU, ``train_seconds`` of the round's training from
   MMEngine's log times) plus the round's ``alpha``, scale range,
   pseudo-labelling seconds and KL of its pseudo-labels to the labeled class
   distribution, and the round-0 record it started from; and ``log.json``.

``semi_protocol.py --report-only --configs ... {config}-round{k}`` then tabulates
the rounds with every other method (it reads records by name).
"""
import argparse
import datetime
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import semi_protocol as sp  # noqa: E402

ROOT = sp.ROOT


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--protocol', default='pretrained', help='as semi_protocol.py --protocol')
    p.add_argument('--config', default='dars',
                   help='DARS config (name in configs/camvid/ or a path) with dars.rounds')
    p.add_argument('--round0', default='suponly',
                   help='round-0 config (name in configs/camvid/ or a path), run by '
                   'semi_protocol.py')
    p.add_argument('--splits', nargs='+', default=['1-8'])
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--splits-root', default='data/splits/camvid')
    p.add_argument('--work-dir', default='work_dirs/semi_protocol')
    p.add_argument('--round0-work-dir',
                   help='work dir of the round-0 runs (default: --work-dir)')
    p.add_argument('--flip', action='store_true', help='flip-averaged pseudo-labelling')
    p.add_argument('--cfg-options', nargs='+', default=[], action='extend',
                   help='extra key=value overrides for round 0 and every round')
    p.add_argument('--python', default=sys.executable)
    p.add_argument('--dry-run', action='store_true', help='print the commands only')
    return p.parse_args(argv)


LOG_TIME = re.compile(r'^(\d{4}/)?(\d\d/\d\d \d\d:\d\d:\d\d) - mmengine', re.M)


def log_seconds(text: str) -> float:
    """Seconds from the first to the last time stamp of one MMEngine log.

    The log file of a work dir stamps ``YYYY/MM/DD hh:mm:ss``; the console
    ``MM/DD hh:mm:ss`` (no year: a stamp earlier than the one before it is
    taken to be in the next year)."""
    stamps, year = [], 2001  # not a leap year: a log of Feb 29 gets 2004
    for full_year, t in LOG_TIME.findall(text):
        if full_year:
            stamp = datetime.datetime.strptime(full_year + t, '%Y/%m/%d %H:%M:%S')
        else:
            for y in (year, year + 1, year + 3):
                try:
                    stamp = datetime.datetime.strptime(f'{y}/{t}', '%Y/%m/%d %H:%M:%S')
                except ValueError:  # Feb 29 outside a leap year
                    continue
                if not stamps or stamp >= stamps[-1]:
                    break
        stamps.append(stamp)
        year = stamp.year
    return (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else 0.0


def round_record(run_dir: str, pseudo_dir: str, max_iters: int) -> Optional[dict]:
    """The metrics of one round's training (``W/round{k}/train``) as
    semi_protocol.py records them; None while it has no validation at
    ``max_iters``."""
    curve = sp.val_curve(run_dir)
    if max_iters not in curve:
        return None
    logs = sorted(glob.glob(osp.join(run_dir, '*', '*.log')))
    texts = [open(p, errors='replace').read() for p in logs]
    # a resume of a finished round (a rerun to record it) trains nothing: not a segment
    texts = [t for t in texts if re.search(r'Iter\((train|val)\)|Saving checkpoint', t)]
    with open(osp.join(pseudo_dir, 'summary.json')) as f:
        summary = json.load(f)
    return dict(**sp.run_metrics(curve, max_iters, '\n'.join(texts)),
                train_seconds=round(sum(log_seconds(t) for t in texts), 1),
                segments=len(texts),
                pseudo_labels=dict(seconds=summary.get('seconds'),
                                   kl_written_to_labeled=summary['kl_written_to_labeled'],
                                   written_share=sum(c['written'] for c in summary['classes'])
                                   / max(summary['total_pixels'], 1)))


def run_seed(args, cfg_path: str, round0_path: str, split: str, seed: int) -> List[str]:
    """Round 0, the rounds and their records for one (split, seed); the
    record folders written (empty if something is not finished)."""
    name = sp.config_name(cfg_path)
    round0_work = args.round0_work_dir or args.work_dir
    split_dir = osp.join(args.splits_root, split, f'seed{seed}')
    opts = sp.split_options(cfg_path, split_dir, None)
    opts += [f'randomness.seed={seed}', *args.cfg_options]
    rounds = sp.load_config(cfg_path, opts).get('dars', {}).get('rounds')
    if not rounds:
        raise SystemExit(f'{cfg_path} has no dars.rounds (list of dict(alpha=..., '
                         'ratio_range=...))')
    outs = [osp.join(args.work_dir, args.protocol, f'{name}-round{k}', split, f'seed{seed}')
            for k in range(1, len(rounds) + 1)]
    if all(osp.isfile(osp.join(o, 'result.json')) for o in outs):
        return outs  # finished
    sp_cmd = [args.python, osp.join(ROOT, 'tools/benchmark/semi_protocol.py'), '--protocol',
              args.protocol, '--configs', round0_path, '--splits', split, '--seeds', str(seed),
              '--splits-root', args.splits_root, '--work-dir', round0_work,
              '--out', osp.join(round0_work, args.protocol, sp.config_name(round0_path), split,
                                f'seed{seed}', 'report')]
    if args.cfg_options:
        sp_cmd += ['--cfg-options', *args.cfg_options]
    print('[dars_protocol] round 0: ' + ' '.join(sp_cmd), flush=True)
    if not args.dry_run and subprocess.run(sp_cmd).returncode != 0:
        print(f'[dars_protocol] round 0 of {split} seed {seed} did not finish', flush=True)
        return []
    round0_dir = osp.join(round0_work, args.protocol, sp.config_name(round0_path), split,
                          f'seed{seed}')
    max_iters = sp.max_iters_of(cfg_path, opts)
    ckpt = osp.join(round0_dir, f'iter_{sp.max_iters_of(round0_path, args.cfg_options)}.pth')
    work = osp.join(args.work_dir, args.protocol, name, split, f'seed{seed}')
    cmd = [args.python, osp.join(ROOT, 'tools/dars_rounds.py'), cfg_path, '--work-dir', work,
           '--round0-checkpoint', ckpt, '--seed', str(seed)] + (
               ['--flip'] if args.flip else []) + ['--cfg-options', *opts]
    shown = f'{sp.PROTOCOL_ENV}={args.protocol} ' + ' '.join(cmd)
    print(f'[dars_protocol] {name} {split} seed {seed}: {shown}', flush=True)
    if args.dry_run:
        return []
    if not osp.isfile(ckpt):
        raise SystemExit(f'round 0 finished without its last checkpoint {ckpt}')
    os.makedirs(work, exist_ok=True)
    env = dict(sp.child_env(True), **{sp.PROTOCOL_ENV: args.protocol})
    with open(osp.join(work, 'dars.log'), 'a') as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        print(f'[dars_protocol] FAILED ({code}): {name} {split} seed {seed}; see '
              f'{work}/dars.log; run the same command again to resume', flush=True)
        return []
    with open(osp.join(round0_dir, 'result.json')) as f:
        round0 = json.load(f)
    written = []
    for k, r in enumerate(rounds, 1):
        rec = round_record(osp.join(work, f'round{k}', 'train'),
                           osp.join(work, f'round{k}', 'pseudo'), max_iters)
        if rec is None:
            print(f'[dars_protocol] round {k} of {split} seed {seed} has no validation at '
                  f'iteration {max_iters}', flush=True)
            return written
        out = outs[k - 1]
        os.makedirs(out, exist_ok=True)
        result = dict(config=f'{name}-round{k}', config_path=osp.relpath(cfg_path, ROOT),
                      protocol=args.protocol, split=split, seed=seed, round=k,
                      alpha=r['alpha'], ratio_range=r.get('ratio_range'), **rec,
                      killed_segments=0, command=shown,
                      round0=dict(config=round0['config'], run_dir=round0_dir,
                                  final=round0['final'],
                                  train_seconds=round0['train_seconds']))
        with open(osp.join(out, 'log.json'), 'w') as f:
            for line in sp.training_log(osp.join(work, f'round{k}', 'train')):
                f.write(json.dumps(line) + '\n')
        with open(osp.join(out, 'result.json'), 'w') as f:
            json.dump(result, f, indent=1)
        print(f'[dars_protocol] {name} round {k} {split} seed {seed}: mIoU '
              f'{rec["final"]["mIoU"]} (round 0: {round0["final"]["mIoU"]}) -> {out}',
              flush=True)
        written.append(out)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import mmseg_u2pl  # noqa: F401  (config types)
    os.environ[sp.PROTOCOL_ENV] = args.protocol
    cfg_path = sp.resolve_config(args.config, args.protocol)
    round0_path = sp.resolve_config(args.round0, args.protocol)
    missing = []
    for split in args.splits:
        for seed in args.seeds:
            if not run_seed(args, cfg_path, round0_path, split, seed) and not args.dry_run:
                missing.append(f'{split} seed {seed}')
    print(f'[dars_protocol] {len(args.splits) * len(args.seeds) - len(missing)} finished, '
          f'missing {missing}', flush=True)
    return 1 if missing and not args.dry_run else 0


if __name__ == '__main__':
    sys.exit(main())
