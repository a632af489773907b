# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Draw what a trained semi-supervised checkpoint's method makes of unlabeled
images (the panels of SemiVisualizationHook) into one PNG.

    python tools/misc/draw_semi_panels.py CONFIG CHECKPOINT OUT.png [--num 3]
        [--cfg-options ...]

Columns: the image | the teacher's prediction | its entropy (dark: certain)
| the pseudo-labels the method keeps (black: not used) | reliable (white) /
unreliable (red). The images are the first ``--num`` of the config's
unlabeled split, through its test pipeline.
"""
import argparse
import os.path as osp
import sys

import cv2
import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def main(argv=None):
    from mmengine.config import Config, DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('out')
    p.add_argument('--num', type=int, default=3)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    import mmseg_u2pl
    from mmcv.transforms import Compose
    from mmseg.apis import init_model
    from mmseg_u2pl.datasets.semi_dataset import build_split_dataset
    from mmseg_u2pl.engine import semi_panel
    from mmseg_u2pl.models.segmentors import SemiStep
    mmseg_u2pl.register_checkpoint_safe_globals()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_model(cfg, args.checkpoint, device='cpu')
    if not hasattr(model, 'teacher_predict'):
        raise SystemExit(f'{args.config}: {cfg.model.type} is not a teacher/student method')
    unl_cfg = dict(cfg.train_dataloader.dataset.unlabeled, pipeline=[])
    unlabeled = build_split_dataset(unl_cfg, 'unlabeled')
    pipeline = Compose([t for t in cfg.test_pipeline
                        if t['type'] not in ('LoadAnnotations', 'CheckSegMap')])
    rows = []
    palette = unlabeled.metainfo['palette']
    for i in range(min(args.num, len(unlabeled))):
        data = pipeline(dict(img_path=unlabeled.get_data_info(i)['img_path']))
        batch = model.data_preprocessor(dict(inputs=[data['inputs']],
                                             data_samples=[data['data_samples']]), False)
        step = SemiStep(batch['inputs'][:0], [], batch['inputs'], batch['data_samples'],
                        extra={})
        with torch.no_grad():
            model.teacher_predict(step)
            model.pseudo_label(step)
        H, W = data['data_samples'].metainfo['img_shape'][:2]
        img = data['inputs'].permute(1, 2, 0).numpy()[:H, :W, ::-1]
        rows.append(semi_panel(np.ascontiguousarray(img), step.probs_u[0][:, :H, :W],
                               step.pseudo[0][:H, :W], step.reliable[0][:H, :W],
                               step.valid_u[0][:H, :W], palette, model.ignore_index))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    cv2.imwrite(args.out, np.concatenate(rows[:-1])[..., ::-1])
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
