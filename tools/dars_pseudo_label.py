# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""DARS pseudo-labelling: run a trained checkpoint over a split's unlabeled
images and write distribution-aligned, randomly sampled pseudo-labels.

    python tools/dars_pseudo_label.py CONFIG CHECKPOINT --split-dir DIR \\
        --alpha 0.2 --out OUT [--flip] [--seed 0] [--cfg-options ...]

CONFIG is a config of the checkpoint's network whose train_dataloader.dataset
names the labeled and unlabeled data (a semi-supervised, SupOnly or DARS
config; ``--split-dir`` sets its split lists). The network is its plain
segmentor (``model.segmentor`` of a semi-supervised config; from a
semi-supervised checkpoint the network it evaluates, the teacher by default).
Inference is the config's test mode (``whole`` or ``slide``), with an
optional horizontal flip.

Writes ``OUT/labels/<image><seg_map_suffix>`` (255 = not pseudo-labelled)
and ``OUT/summary.json`` (per class: labeled share, target count, threshold,
keep probability, written count; KL divergence of the written labels to the
labeled distribution; ``seconds`` this call took). Resumable: the predictions are cached in
``OUT/cache`` (one .npz per image), so a killed run continues where it
stopped; the sampling is seeded per image. Progress (images, rate, ETA) goes
to stderr through MMEngine's ``ProgressBar``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from dars_sampling import (NUM_BINS, class_thresholds, kl_divergence,  # noqa: E402
                           quantize, sample_labels, target_counts)


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--split-dir', required=True,
                   help='folder with labeled.txt and unlabeled.txt (tools/make_semi_splits.py)')
    p.add_argument('--alpha', type=float, required=True,
                   help='labeling ratio: the share of the unlabeled pixels to pseudo-label')
    p.add_argument('--out', required=True)
    p.add_argument('--flip', action='store_true', help='average with the flipped image')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def split_parts(cfg, split_dir):
    """The labeled and unlabeled dataset dicts of the config, on ``split_dir``."""
    ds = cfg.train_dataloader.dataset
    if 'labeled' in ds:
        lab, unl = ds.labeled.copy(), ds.unlabeled.copy()
    elif 'dataset' in ds:
        lab = ds.dataset.copy()
        unl = ds.dataset.copy()
    else:
        raise ValueError(f'{cfg.filename}: train_dataloader.dataset has neither labeled/'
                         'unlabeled (SemiSegDataset) nor dataset (SplitListDataset)')
    for part, name in ((lab, 'labeled'), (unl, 'unlabeled')):
        part['ann_file'] = osp.join(split_dir, f'{name}.txt')
    # the unlabeled images are read from where the labeled ones are
    unl['data_prefix'] = dict(lab.get('data_prefix', {}))
    return lab, unl


def load_network(cfg, checkpoint, device):
    """The plain segmentor of ``cfg`` (a wrapper: its evaluated network) with
    the checkpoint's weights, checked key by key (a mismatch names the file
    and the first key)."""
    from mmengine.runner import CheckpointLoader
    from mmseg.registry import MODELS
    from mmseg_u2pl.utils import network_state_dict
    model_cfg = cfg.model.get('segmentor', cfg.model).copy()
    model_cfg.pop('pretrained', None)
    if 'init_cfg' in model_cfg.get('backbone', {}):
        model_cfg.backbone.init_cfg = None
    model_cfg.train_cfg = None
    model = MODELS.build(model_cfg)
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = network_state_dict(cfg.model, ckpt.get('state_dict', ckpt), model.state_dict(),
                               checkpoint, cfg.filename)
    model.load_state_dict(state)
    return model.to(device).eval()


def test_pipeline(cfg):
    from mmcv.transforms import Compose
    steps = [dict(t) for t in cfg.test_pipeline
             if t['type'] not in ('LoadAnnotations', 'CheckSegMap')]
    steps[0] = dict(type='LoadImageFromNDArray')
    return Compose(steps)


@torch.no_grad()
def predict(model, pipeline, img, flip):
    """(C, H, W) softmax probabilities at the image's size."""
    views = [img] + ([np.ascontiguousarray(img[:, ::-1])] if flip else [])
    total = None
    for i, view in enumerate(views):
        data = pipeline(dict(img=view))
        batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
        out = model.test_step(batch)[0]
        probs = out.seg_logits.data.float().softmax(0)
        if i == 1:
            probs = probs.flip(-1)
        total = probs if total is None else total + probs
    return (total / len(views)).cpu().numpy()


def progress_bar(label, n):
    """MMEngine's progress bar (images done, rate, ETA) on stderr."""
    from mmengine.utils import ProgressBar
    print(f'[dars] {label} ({n} images)', flush=True)
    return ProgressBar(n, file=sys.stderr)


def progress_done(label, n, t0):
    sys.stderr.write('\n')
    print(f'[dars] {label}: {n}/{n} in {time.time() - t0:.0f} s', flush=True)


def main(argv=None):
    args = parse_args(argv)
    started = time.time()
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    import mmseg_u2pl  # noqa: F401  (registration)
    from mmseg.registry import TRANSFORMS
    mmseg_u2pl.register_checkpoint_safe_globals()
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for name in ('labeled.txt', 'unlabeled.txt'):
        if not osp.isfile(osp.join(args.split_dir, name)):
            raise SystemExit(f'--split-dir {args.split_dir} has no {name} '
                             '(create it with tools/make_semi_splits.py)')
    lab_cfg, unl_cfg = split_parts(cfg, args.split_dir)
    from mmseg_u2pl.datasets.semi_dataset import build_split_dataset
    labeled = build_split_dataset(dict(lab_cfg, pipeline=[]), 'labeled')
    unlabeled = build_split_dataset(dict(unl_cfg, pipeline=[]), 'unlabeled')
    model = load_network(cfg, args.checkpoint, args.device)
    C = model.decode_head.num_classes
    ignore = model.decode_head.ignore_index
    cache_dir, label_dir = osp.join(args.out, 'cache'), osp.join(args.out, 'labels')
    os.makedirs(cache_dir, exist_ok=True)
    pipeline = test_pipeline(cfg)

    # 1. predictions (cached, resumable)
    infos = [unlabeled.get_data_info(i) for i in range(len(unlabeled))]
    img_dir = unlabeled.data_prefix['img_path']
    stems = [osp.relpath(info['img_path'], img_dir)[:-len(unlabeled.img_suffix)]
             if unlabeled.img_suffix else osp.relpath(info['img_path'], img_dir)
             for info in infos]
    t0, bar = time.time(), progress_bar('predicting', len(infos))
    for i, (info, stem) in enumerate(zip(infos, stems), 1):
        path = osp.join(cache_dir, stem.replace('/', '__') + '.npz')
        if not osp.isfile(path):
            img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f'cannot read unlabeled image {info["img_path"]}')
            probs = predict(model, pipeline, img, args.flip)
            tmp = path + '.tmp.npz'
            np.savez_compressed(tmp, pred=probs.argmax(0).astype(np.uint8),
                                conf=quantize(probs.max(0)))
            os.replace(tmp, path)
        bar.update()
    progress_done('predicted', len(infos), t0)

    # 2. the labeled class distribution and the confidence histograms
    load = TRANSFORMS.build(dict(type='LoadAnnotations',
                                 reduce_zero_label=labeled.reduce_zero_label))
    labeled_counts = np.zeros(C, np.int64)
    for i in range(len(labeled)):
        gt = load(dict(labeled.get_data_info(i), seg_fields=[]))['gt_seg_map']
        gt = gt[(gt != ignore) & (gt < C)]
        labeled_counts += np.bincount(gt.ravel(), minlength=C)[:C]
    hist = np.zeros((C, NUM_BINS), np.int64)
    total = 0
    for stem in stems:
        z = np.load(osp.join(cache_dir, stem.replace('/', '__') + '.npz'))
        np.add.at(hist, (z['pred'].ravel().astype(np.int64), z['conf'].ravel()), 1)
        total += z['pred'].size
    targets = target_counts(args.alpha, labeled_counts, total)
    thresholds, keep = class_thresholds(hist, targets)

    # 3. pseudo-label maps (seeded per image)
    written = np.zeros(C, np.int64)
    t0, bar = time.time(), progress_bar('writing pseudo-label maps', len(stems))
    for i, stem in enumerate(stems):
        z = np.load(osp.join(cache_dir, stem.replace('/', '__') + '.npz'))
        rng = np.random.default_rng([args.seed, i])
        labels = sample_labels(z['pred'].astype(np.int64), z['conf'], thresholds, keep, rng,
                               ignore)
        written += np.bincount(labels[labels != ignore].ravel(), minlength=C)[:C]
        path = osp.join(label_dir, stem + unlabeled.seg_map_suffix)
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, labels)
        bar.update()
    progress_done('written', len(stems), t0)
    classes = unlabeled.metainfo.get('classes') or [str(c) for c in range(C)]
    summary = dict(
        config=args.config, checkpoint=args.checkpoint, split_dir=args.split_dir,
        alpha=args.alpha, flip=args.flip, seed=args.seed, num_images=len(stems),
        total_pixels=int(total), labels_dir=osp.abspath(label_dir),
        kl_written_to_labeled=kl_divergence(written, labeled_counts),
        classes=[dict(name=classes[j], labeled_share=float(labeled_counts[j] /
                                                           labeled_counts.sum()),
                      target=int(targets[j]), predicted=int(hist[j].sum()),
                      threshold=float(min(thresholds[j], NUM_BINS - 1) / (NUM_BINS - 1))
                      if thresholds[j] < NUM_BINS else None,
                      keep_prob=float(keep[j]), written=int(written[j]))
                 for j in range(C)],
        seconds=round(time.time() - started, 1))  # of this call (a resumed one: its part)
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'[dars] wrote {len(stems)} pseudo-label maps to {label_dir}: '
          f'{written.sum()} pixels ({written.sum() / max(total, 1):.1%} of the predicted), '
          f'KL to the labeled distribution {summary["kl_written_to_labeled"]:.4f}', flush=True)
    return summary


if __name__ == '__main__':
    main()
