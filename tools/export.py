# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Export a trained network as a plain MMSeg model.

    python tools/export.py CONFIG CHECKPOINT OUT_DIR [--network teacher|student|peer]

Writes ``OUT_DIR/<config name>.py``, a plain MMSegmentation config (the
wrapped segmentor, the test pipeline and evaluator; nothing of this
package), and ``OUT_DIR/<config name>.pth``, a tensors-only checkpoint
(``state_dict`` + plain ``meta``) that torch's safe loading
(``weights_only=True``) and ``mmseg.apis.init_model`` load without this
package installed:

    from mmseg.apis import init_model, inference_model
    model = init_model('OUT_DIR/u2pl_r101_cityscapes_1-16.py', 'OUT_DIR/u2pl_r101_cityscapes_1-16.pth')

The network is the one the config evaluates (``model.semi_test_cfg.predict_on``:
the teacher for the teacher/student methods, network 1 for CPS) unless
``--network`` says otherwise. A SupOnly checkpoint exports as it is.
"""
import argparse
import copy
import inspect
import os
import os.path as osp
import sys

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# the config keys a plain MMSeg test run needs (train_* and custom_imports go)
KEEP = ('default_scope', 'env_cfg', 'vis_backends', 'visualizer', 'log_processor', 'log_level',
        'test_cfg', 'val_cfg', 'test_evaluator', 'val_evaluator', 'test_dataloader',
        'val_dataloader', 'tta_model', 'tta_pipeline')
PLAIN_HOOKS = ('timer', 'logger', 'param_scheduler', 'checkpoint', 'sampler_seed',
               'visualization')


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('out_dir')
    p.add_argument('--network', choices=['teacher', 'student', 'peer'],
                   help='the network of a semi-supervised checkpoint (default: the evaluated one)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def own_type(registry, name) -> bool:
    """Whether ``name`` is registered by this package (unknown to plain MMSeg)."""
    cls = registry.get(name) if isinstance(name, str) else name
    return cls is not None and getattr(cls, '__module__', '').startswith('mmseg_u2pl')


def plain_dataset(ds):
    """A dataset dict of this package's types as MMSeg's BaseSegDataset."""
    from mmseg.registry import DATASETS, TRANSFORMS
    ds = copy.deepcopy(dict(ds))
    if 'pipeline' in ds:
        ds['pipeline'] = [t for t in ds['pipeline'] if not own_type(TRANSFORMS, t['type'])]
    if own_type(DATASETS, ds.get('type')):
        cls = DATASETS.get(ds['type'])
        defaults = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()
                    if v.default is not inspect.Parameter.empty}
        meta = dict(cls.METAINFO)
        ds['type'] = 'BaseSegDataset'
        ds.setdefault('metainfo', {k: list(v) for k, v in meta.items()})
        for key in ('img_suffix', 'seg_map_suffix', 'reduce_zero_label'):
            if key in defaults:
                ds.setdefault(key, defaults[key])
    return ds


def plain_config(cfg, network: str):
    """The plain MMSeg config of ``network`` of ``cfg``."""
    from mmengine.config import Config
    from mmseg.registry import HOOKS, MODELS
    from mmseg_u2pl.engine import train_crop_size
    model = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else cfg.model)
    if 'segmentor' in model:
        model = model['segmentor']
    model.pop('pretrained', None)
    backbone = model.get('backbone', {})
    if isinstance(backbone.get('init_cfg'), dict):
        backbone['init_cfg'] = None  # the weights are in the checkpoint
    for k, v in list(backbone.items()):
        if k == 'pretrained' and isinstance(v, str):
            backbone[k] = None
    if own_type(MODELS, model.get('type')):
        raise ValueError(f'{cfg.filename}: model type {model["type"]} belongs to mmseg_u2pl '
                         'and cannot leave the package')
    crop = train_crop_size(cfg)
    pre = model.get('data_preprocessor')
    if crop is not None and isinstance(pre, dict) and pre.get('size') is None:
        pre['size'] = crop  # plain MMSeg has no CropSizeHook to fill it
    out = dict(model=model)
    for key in KEEP:
        if key in cfg:
            out[key] = copy.deepcopy(cfg[key])
    for key in ('test_dataloader', 'val_dataloader'):
        if key in out and out[key]:
            out[key]['dataset'] = plain_dataset(out[key]['dataset'])
    if 'test_pipeline' in cfg:
        out['test_pipeline'] = plain_dataset(dict(pipeline=cfg.test_pipeline))['pipeline']
    out['default_hooks'] = {k: v for k, v in cfg.get('default_hooks', {}).items()
                            if k in PLAIN_HOOKS and not own_type(HOOKS, v.get('type'))}
    out.setdefault('default_scope', 'mmseg')
    return Config(out)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import CheckpointLoader
    import mmseg_u2pl
    from mmseg.registry import MODELS
    from mmseg_u2pl.utils import network_of, network_state_dict
    mmseg_u2pl.register_checkpoint_safe_globals()
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.network and 'segmentor' not in cfg.model:
        raise SystemExit(f'{args.config}: --network {args.network} needs a semi-supervised '
                         'config; this one trains a plain segmentor')
    network = network_of(cfg.model, args.network)
    ckpt = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    plain = plain_config(cfg, network)
    own = MODELS.build(copy.deepcopy(plain.model)).state_dict()
    try:
        # the network's own weights; heads the plain segmentor does not have
        # (U2PL's contrastive head, ESL's projector) stay behind
        state = network_state_dict(cfg.model, ckpt.get('state_dict', ckpt), own,
                                   args.checkpoint, args.config, network)
    except ValueError as e:
        raise SystemExit(str(e)) from e
    state = {k: state[k].detach().clone().contiguous() for k in own}
    meta = dict(exported_from=osp.abspath(args.checkpoint), config=osp.abspath(args.config),
                network=network or 'segmentor')
    dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    if dataset_meta:
        meta['dataset_meta'] = {k: [list(x) if isinstance(x, (list, tuple)) else x for x in v]
                                if isinstance(v, (list, tuple)) else v
                                for k, v in dataset_meta.items()}
    os.makedirs(args.out_dir, exist_ok=True)
    name = osp.splitext(osp.basename(args.config))[0]
    cfg_path = osp.join(args.out_dir, f'{name}.py')
    ckpt_path = osp.join(args.out_dir, f'{name}.pth')
    plain.dump(cfg_path)
    torch.save(dict(state_dict=state, meta=meta), ckpt_path)
    torch.load(ckpt_path, map_location='cpu', weights_only=True)  # loads safely
    print(f'[export] {network or "segmentor"} of {args.checkpoint}: {len(state)} tensors -> '
          f'{ckpt_path}, config {cfg_path}', flush=True)
    return cfg_path, ckpt_path


if __name__ == '__main__':
    main()
