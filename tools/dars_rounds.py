# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""A whole DARS self-training schedule in one command.

    python tools/dars_rounds.py CONFIG --work-dir W \\
        (--round0-checkpoint CKPT | --round0-config SUPONLY_CONFIG) [--flip]

Round 0 is SupOnly (its checkpoint, or trained here from its config). Each
round k of ``CONFIG``'s ``dars.rounds`` (labeling ratio ``alpha`` and, for
later rounds, a wider ``ratio_range`` of the random scaling) pseudo-labels
the unlabeled split with the previous round's checkpoint
(tools/dars_pseudo_label.py, into ``W/round{k}/pseudo``) and trains
``CONFIG`` on the labeled and the pseudo-labeled images, starting from the
previous round's weights (``W/round{k}/train``). Resumable: run it again
and it continues where it stopped (finished steps are skipped, training
resumes from its last checkpoint).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('--work-dir', required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('--round0-checkpoint', help='a trained SupOnly checkpoint')
    g.add_argument('--round0-config', help='a SupOnly config to train round 0 with')
    p.add_argument('--flip', action='store_true', help='flip-averaged pseudo-labelling')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='key=value options applied to CONFIG (pseudo-labelling and training)')
    p.add_argument('--train-args', nargs=argparse.REMAINDER, default=[],
                   help='passed on to every tools/train.py call (e.g. --cfg-options ...)')
    return p.parse_args(argv)


def train(config, work_dir, extra):
    cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), config, '--work-dir', work_dir,
           '--resume', *extra]
    print('[dars] ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise SystemExit(f'[dars] training in {work_dir} wrote no checkpoint')
    with open(last) as f:
        return f.read().strip()


def with_ratio_range(pipeline, ratio_range):
    out = []
    for t in pipeline:
        t = dict(t)
        if t['type'] == 'RandomResize' and ratio_range is not None:
            t['ratio_range'] = tuple(ratio_range)
        out.append(t)
    return out


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config, DictAction
    import dars_pseudo_label

    def load():
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            ns = argparse.Namespace()
            DictAction(option_strings=[], dest='o')(None, ns, args.cfg_options)
            cfg.merge_from_dict(ns.o)
        return cfg

    cfg = load()
    rounds = cfg.get('dars', {}).get('rounds')
    if not rounds:
        raise SystemExit(f'{args.config} has no dars.rounds (list of dict(alpha=..., '
                         'ratio_range=...))')
    dataset = cfg.train_dataloader.dataset
    split_dir = dataset.get('split_dir') or osp.dirname(dataset.labeled.ann_file)
    if args.round0_checkpoint:
        ckpt = args.round0_checkpoint
    else:
        ckpt = train(args.round0_config, osp.join(args.work_dir, 'round0'), args.train_args)
    for k, r in enumerate(rounds, 1):
        out = osp.abspath(osp.join(args.work_dir, f'round{k}'))
        pseudo = osp.join(out, 'pseudo')
        if not osp.isfile(osp.join(pseudo, 'summary.json')):
            dars_pseudo_label.main([args.config, ckpt, '--split-dir', split_dir, '--alpha',
                                    str(r['alpha']), '--out', pseudo, '--seed',
                                    str(args.seed)] + (['--flip'] if args.flip else []) +
                                   (['--cfg-options', *args.cfg_options]
                                    if args.cfg_options else []))
        round_cfg = load()
        part = round_cfg.train_dataloader.dataset
        part.unlabeled.data_prefix.seg_map_path = osp.join(pseudo, 'labels')
        for p in (part.labeled, part.unlabeled):
            p.pipeline = with_ratio_range(p.pipeline, r.get('ratio_range'))
        round_cfg.load_from = ckpt
        os.makedirs(out, exist_ok=True)
        path = osp.join(out, 'config.py')
        round_cfg.dump(path)
        ckpt = train(path, osp.join(out, 'train'), args.train_args)
        print(f'[dars] round {k} (alpha {r["alpha"]}, ratio_range {r.get("ratio_range")}): '
              f'{ckpt}', flush=True)
    return ckpt


if __name__ == '__main__':
    main()
