# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Multi-process runs on machines without CUDA (e.g. CI with gloo)."""
import torch
import torch.distributed as dist
from mmengine.config import Config

__all__ = ['init_cpu_distributed']


def init_cpu_distributed(cfg: Config) -> bool:
    """Start the process group for ``--launcher pytorch`` without CUDA.

    MMEngine 0.10's ``pytorch`` launcher calls ``torch.cuda.set_device``,
    which fails on a machine without a GPU, and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``, which a CPU module refuses. Here the process
    group is started with the config's ``env_cfg.dist_cfg.backend`` (MMEngine
    then skips its own initialisation) and DDP is built with
    ``device_ids=None``. Does nothing when CUDA is available, for other
    launchers, or if a process group exists.

    Returns:
        bool: whether it initialised the process group.
    """
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available() \
            or dist.is_initialized():
        return False
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    if backend == 'nccl':
        raise ValueError("env_cfg.dist_cfg.backend='nccl' needs CUDA; for a CPU run use "
                         "--cfg-options env_cfg.dist_cfg.backend=gloo")
    dist.init_process_group(backend=backend, init_method='env://')
    wrapper = dict(cfg.get('model_wrapper_cfg') or
                   dict(type='MMDistributedDataParallel', broadcast_buffers=False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    return True
