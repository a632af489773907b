# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Pseudo-label accuracy on reliable vs unreliable pixels, and entropy
statistics, of a checkpoint's teacher on images with known labels.

    CAMVID_PROTOCOL=cpu python tools/benchmark/pseudo_label_quality.py configs/camvid/u2pl.py CKPT \\
        --split-list data/splits/camvid/1-8/seed0/unlabeled.txt --out quality.json

The images of the split list (default: the config's unlabeled split) are read
with the config's *test* pipeline (so their labels are loaded), predicted by
the network that ``predict`` uses (the teacher for U2PL) and ranked by entropy
in groups of ``--batch`` images, as a GPU's batch in training (Eq. 5, 6). A
SupOnly config works too (its only network). Progress (images, ETA) goes to
stderr through MMEngine's ``ProgressBar``.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split-list', help='image stems to evaluate (default: the '
                        "config's unlabeled split list)")
    parser.add_argument('--alpha', type=float, help='unreliable fraction (default: the '
                        "model's semi_train_cfg.alpha_0, else 0.2)")
    parser.add_argument('--batch', type=int, default=4, help='images ranked together')
    parser.add_argument('--max-images', type=int, help='evaluate only the first N')
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument('--cfg-options', nargs='+', default=[], action='extend',
                        help='key=value overrides of the config')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config, DictAction
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import ProgressBar

    import mmseg_u2pl  # noqa: F401  (registration)
    from mmseg.registry import MODELS
    from mmseg_u2pl.datasets import build_split_dataset
    from mmseg_u2pl.evaluation import PseudoLabelQuality

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *args.cfg_options]).o)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    mmseg_u2pl.register_checkpoint_safe_globals()  # an MMEngine checkpoint, torch >= 2.6
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    train_set = cfg.train_dataloader.dataset
    ds_cfg = dict(train_set.get('unlabeled') or train_set.get('dataset') or train_set)
    ds_cfg['pipeline'] = cfg.test_dataloader.dataset.pipeline
    if args.split_list:
        ds_cfg['ann_file'] = args.split_list
    dataset = build_split_dataset(ds_cfg, 'evaluated')
    alpha = args.alpha if args.alpha is not None else \
        getattr(model, 'semi_train_cfg', {}).get('alpha_0', 0.2)
    num = min(len(dataset), args.max_images or len(dataset))
    quality = PseudoLabelQuality(len(dataset.metainfo['classes']), alpha,
                                 ignore_index=getattr(dataset, 'ignore_index', 255))
    # images done and an ETA on stderr (stdout keeps the tables)
    bar = ProgressBar(num, file=sys.stderr)
    with torch.no_grad():
        for start in range(0, num, args.batch):
            probs, gts = [], []
            for i in range(start, min(start + args.batch, num)):
                data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
                out = model.predict(data['inputs'], data['data_samples'])[0]
                probs.append(out.seg_logits.data.softmax(0))
                gts.append(out.gt_sem_seg.data[0])
            if len({p.shape for p in probs}) == 1:
                quality.update(torch.stack(probs), torch.stack(gts))
            else:  # images of different sizes: rank each alone
                for p, g in zip(probs, gts):
                    quality.update(p[None], g[None])
            bar.update(len(probs))
    sys.stderr.write('\n')
    result = quality.compute(list(dataset.metainfo['classes']))
    result.update(config=args.config, checkpoint=args.checkpoint, images=num,
                  split_list=dataset.ann_file, batch=args.batch)
    print(f"{num} images of {dataset.ann_file}, alpha={alpha}, ranked per {args.batch}")
    print('| pixels | fraction % | pseudo-label accuracy % | mean entropy |')
    print('|---|---:|---:|---:|')
    for part in ('reliable', 'unreliable'):
        r = result[part]
        print(f"| {part} | {r['fraction']:.1f} | {r['accuracy']:.1f} | "
              f"{r['mean_entropy']:.3f} |")
    print(f"| all | 100.0 | {result['all_accuracy']:.1f} | |")
    print(f"teacher mIoU on these images: {result['teacher_miou']:.2f}")
    print('| class | IoU | reliable precision | unreliable precision | kept as reliable % |')
    print('|---|---:|---:|---:|---:|')
    for name, r in result['per_class'].items():
        print(f"| {name} | {r['iou']:.1f} | {r['reliable_precision']:.1f} | "
              f"{r['unreliable_precision']:.1f} | {r['kept_as_reliable']:.1f} |")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
