# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Training speed with and without glibc memory reuse, side by side.

    CAMVID_PROTOCOL=cpu python tools/benchmark/train_speed.py configs/camvid/u2pl.py \\
        --split-dir data/splits/camvid/1-8/seed0 --iters 40 --rounds 3

Each round trains ``--iters`` iterations of the config twice in fresh
processes, once with the system allocator settings and once with
``semi_protocol.MALLOC_REUSE_ENV`` (the order alternates from round to round),
and times the training loop (no validation, no checkpoints; the config's
warm-up hooks such as U2PL's supervised warm start are skipped so that every
timed iteration is a full step). It prints each pair, the median ratio
(reuse / system) and whether the final weights of the two runs are
bit-identical (the exit status is 1 if not).
"""
import argparse
import hashlib
import json
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path[:0] = [ROOT, osp.dirname(osp.abspath(__file__))]
from semi_protocol import (MALLOC_REUSE_ENV, child_env, load_config,  # noqa: E402
                           split_options)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--split-dir', help='SPLIT/seedSEED folder of labeled.txt and '
                        "unlabeled.txt (default: the config's lists)")
    parser.add_argument('--data-root', help='override the data root')
    parser.add_argument('--iters', type=int, default=40, help='iterations per run')
    parser.add_argument('--rounds', type=int, default=3, help='pairs of runs')
    parser.add_argument('--work-dir', default='work_dirs/train_speed')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options', nargs='+', default=[], action='extend',
                        help='key=value overrides of the config')
    return parser.parse_args(argv)


def child(args) -> None:
    """Train ``args.iters`` iterations; print the loop's seconds and a digest
    of the model's parameters and buffers."""
    from mmengine.runner import Runner

    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=args.iters + 1,
                                        save_last=False)
    for hook in cfg.get('custom_hooks', []):
        if 'warm_start_epochs' in hook:
            hook['warm_start_epochs'] = 0
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start
    digest = hashlib.sha1()
    for key, value in sorted(runner.model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    print('TRAIN_SPEED ' + json.dumps(dict(seconds=seconds, digest=digest.hexdigest())),
          flush=True)


def run_child(args, opts: list, reuse: bool) -> dict:
    work_dir = osp.join(args.work_dir, 'reuse' if reuse else 'system')
    cmd = [sys.executable, osp.abspath(__file__), args.config, '--child', '--iters',
           str(args.iters), '--work-dir', work_dir]
    if opts:
        cmd += ['--cfg-options', *opts]
    env = child_env(reuse)
    if not reuse:
        for key in MALLOC_REUSE_ENV:
            env.pop(key, None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('TRAIN_SPEED ')]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise RuntimeError(f'training child failed ({proc.returncode}): {" ".join(cmd)}')
    return json.loads(lines[-1][len('TRAIN_SPEED '):])


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args)
        return 0
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {args.config}')
    print(f'{args.config}: {args.iters} iterations per run, {args.rounds} rounds; '
          f'reuse = {MALLOC_REUSE_ENV}')
    print('| round | system s | reuse s | reuse / system | same weights |')
    print('|---|---:|---:|---:|---|')
    opts = list(args.cfg_options)
    if args.split_dir:
        opts = split_options(args.config, args.split_dir, args.data_root) + opts
    ratios, same = [], True
    for r in range(args.rounds):
        order = [False, True] if r % 2 == 0 else [True, False]
        res = {reuse: run_child(args, opts, reuse) for reuse in order}
        ratio = res[True]['seconds'] / res[False]['seconds']
        equal = res[True]['digest'] == res[False]['digest']
        ratios.append(ratio)
        same &= equal
        print(f'| {r} | {res[False]["seconds"]:.1f} | {res[True]["seconds"]:.1f} | '
              f'{ratio:.3f} | {"yes" if equal else "NO"} |', flush=True)
    print(f'median reuse / system: {statistics.median(ratios):.3f} '
          f'(min {min(ratios):.3f}, max {max(ratios):.3f}); weights bit-identical in every '
          f'round: {"yes" if same else "NO"}')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
