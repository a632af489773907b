# Copyright (c) mmseg_u2pl contributors. All rights reserved.
# Adapted from MMSegmentation tools/train.py (Apache-2.0,
# Copyright (c) OpenMMLab): same CLI, plus ``--resume [PATH]`` and the
# registration of mmseg_u2pl's components before the runner is built.
import argparse
import logging
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg.registry import RUNNERS

# make ``mmseg_u2pl`` importable from a source checkout without installing it
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume training. Given alone, resume from the latest '
        'checkpoint in the work_dir automatically; given with a path '
        '(`--resume PATH`), resume from that checkpoint. Put it after the '
        'config, or the config would be taken as the checkpoint path.')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # When using PyTorch version >= 2.0.0, the `torch.distributed.launch`
    # will pass the `--local-rank` parameter to `tools/train.py` instead
    # of `--local_rank`.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)

    return args


def main():
    args = parse_args()

    # register mmseg_u2pl's components into mmseg's registries and allow-list
    # the types an MMEngine checkpoint needs for torch's weights_only loading
    import mmseg_u2pl
    # this package's entry point applies its checkpoint fix for the pinned
    # MMEngine under torch >= 2.6 explicitly, for any config (configs of this
    # package also list SafeCheckpointHook, for MMSeg's own tools)
    mmseg_u2pl.register_checkpoint_safe_globals()
    from mmseg_u2pl.utils import init_cpu_distributed, repoint_last_checkpoint

    # load config
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        # update configs according to CLI args if args.work_dir is not None
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        # use config filename as default work_dir if cfg.work_dir is None
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    # enable automatic-mixed-precision training
    if args.amp is True:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    # resume training: `--resume` alone looks for the latest checkpoint in
    # work_dir, `--resume PATH` resumes from PATH; without the flag the
    # config's own `resume` / `load_from` are kept
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
        # a work dir reached from another checkout or moved keeps MMEngine's
        # absolute `last_checkpoint`: point it at the work dir's own copy
        moved = repoint_last_checkpoint(cfg.work_dir)
        if moved:
            print(f'last_checkpoint named a missing file; resuming from {moved}', flush=True)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    # build the runner from config; the distributed backend comes from
    # `env_cfg.dist_cfg` (MMEngine passes it to `init_dist`)
    # CPU-only machines: start the process group (gloo) ourselves
    init_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        # build the default runner
        runner = Runner.from_cfg(cfg)
    else:
        # build customized runner from the registry
        # if 'runner_type' is set in the cfg
        runner = RUNNERS.build(cfg)

    # start training
    runner.train()


if __name__ == '__main__':
    main()
