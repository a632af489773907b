# Copyright (c) mmseg_u2pl contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...utils.checkpoint import register_checkpoint_safe_globals

__all__ = ['SafeCheckpointHook']


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Safe checkpoint saving and loading for MMEngine 0.10.x under torch >= 2.6.

    The compatibility fix of :mod:`mmseg_u2pl.utils.checkpoint`, applied
    explicitly by the run that lists this hook (every config of this package
    does, in ``default_hooks``), not by importing the package: before the run
    loads or resumes a checkpoint it allow-lists exactly the types an MMEngine
    checkpoint holds for ``torch.load(weights_only=True)``, makes
    ``HistoryBuffer`` pickle without function references, and routes local
    checkpoint files through a loader that names the file and the type it
    refuses. These changes are process-wide (they patch MMEngine's classes,
    as the pinned MMEngine offers no setting for them). Offline code calls
    :func:`~mmseg_u2pl.utils.register_checkpoint_safe_globals` itself.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner: Runner) -> None:
        register_checkpoint_safe_globals()
