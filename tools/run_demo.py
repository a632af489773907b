# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The main job: SupOnly vs U2PL on the embedded synthetic dataset.

Generates the synthetic dataset (data/synthetic) and its 1/16 split if
missing, trains both configs through tools/train.py, evaluates the last
checkpoint of each with tools/test.py, and prints a table.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--max-iters N]

Both are trained for ``--max-iters`` iterations (400 by default, half the
configs' schedule, so that the job fits in 10 minutes on 2 CPU cores).
"""
import argparse
import os
import os.path as osp
import re
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIGS = [
    ('SupOnly', 'configs/suponly/suponly_efficientnet-lite0_synthetic_1-16.py'),
    ('U2PL', 'configs/u2pl/u2pl_efficientnet-lite0_synthetic_1-16.py'),
]
SPLIT_DIR = 'data/splits/synthetic/1-16'


def prepare_data(data_root: str) -> None:
    from mmseg_u2pl.datasets.synthetic import generate_synthetic_dataset
    generate_synthetic_dataset(data_root)
    if not osp.isfile(osp.join(SPLIT_DIR, 'labeled.txt')):
        subprocess.run([
            sys.executable, 'tools/make_semi_splits.py', 'mmseg', '--data-root', data_root,
            '--fraction', str(1 / 16), '--seed', '0', '--out', SPLIT_DIR
        ], check=True)


def run(cmd, log_path, progress=re.compile(r'Iter\((train|val|test)\)\s*\[')):
    """Run ``cmd``, write its output to ``log_path`` and echo its progress lines
    (MMEngine's ``Iter(train) [ 50/800] ... eta: ...``) as they come."""
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                cwd=ROOT, text=True, bufsize=1)
        for line in proc.stdout:
            log.write(line)
            if progress.search(line):
                # date, logger name and memory columns are noise here
                print('  ' + line.split(' - mmengine - INFO - ')[-1].rstrip(), flush=True)
        proc.wait()
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-4000:]
        raise SystemExit(f'command failed ({proc.returncode}): {" ".join(cmd)}\n'
                         f'--- last lines of {log_path} ---\n{tail}')
    with open(log_path) as f:
        return f.read()


def parse_metrics(text: str) -> dict:
    found = re.findall(r'aAcc: ([\d.]+)\s+mIoU: ([\d.]+)\s+mAcc: ([\d.]+)', text)
    if not found:
        raise SystemExit('no mIoU line in the test output')
    aacc, miou, macc = map(float, found[-1])
    return dict(aAcc=aacc, mIoU=miou, mAcc=macc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/synthetic')
    # 400 of the configs' 800 iterations: with the ImageNet encoder a U2PL step
    # costs 0.75 s here, and the whole job must fit in 10 minutes on 2 cores
    parser.add_argument('--max-iters', type=int, default=400,
                        help='schedule length of both configs (default 400; 0: the '
                        "configs' own)")
    args = parser.parse_args()
    os.chdir(ROOT)
    prepare_data(args.data_root)
    rows = []
    for name, config in CONFIGS:
        work_dir = osp.join(args.work_dir, name.lower())
        os.makedirs(work_dir, exist_ok=True)
        opts = [f'train_dataloader.dataset.labeled.data_root={args.data_root}'
                if name == 'U2PL' else
                f'train_dataloader.dataset.dataset.data_root={args.data_root}']
        opts += [f'val_dataloader.dataset.data_root={args.data_root}',
                 f'test_dataloader.dataset.data_root={args.data_root}']
        if name == 'U2PL':
            opts.append(f'train_dataloader.dataset.unlabeled.data_root={args.data_root}')
        if args.max_iters:
            n = args.max_iters
            opts += [f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
                     f'default_hooks.checkpoint.interval={n}']  # the poly LR ends with the loop
        print(f'[demo] training {name}: {config}', flush=True)
        t0 = time.time()
        run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
             '--cfg-options', *opts], osp.join(work_dir, 'train.log'))
        train_s = time.time() - t0
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            ckpt = f.read().strip()
        print(f'[demo] testing {name}: {ckpt}', flush=True)
        out = run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work_dir,
                   '--cfg-options', *opts], osp.join(work_dir, 'test.log'))
        rows.append(dict(method=name, train_s=train_s, **parse_metrics(out)))
    print()
    print('| method | mIoU | mAcc | aAcc | train time (s) |')
    print('|---|---:|---:|---:|---:|')
    for r in rows:
        print(f"| {r['method']} | {r['mIoU']:.2f} | {r['mAcc']:.2f} | {r['aAcc']:.2f} | "
              f"{r['train_s']:.0f} |")


if __name__ == '__main__':
    main()
