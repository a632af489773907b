# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import math
from fractions import Fraction
from typing import Dict, List, Optional, Tuple, Union

from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import DataLoader

from mmseg.registry import LOOPS
from ...utils.semi_schedule import unlabeled_epoch_size

__all__ = ['SemiIterBasedTrainLoop']


@LOOPS.register_module()
class SemiIterBasedTrainLoop(IterBasedTrainLoop):
    """MMEngine's ``IterBasedTrainLoop``, whose length may be given in epochs of
    the unlabeled set, as the papers give it (U2PL: 200 epochs on Cityscapes,
    80 on VOC).

    With ``max_epochs`` the loop counts the iterations from the loader it
    trains on: ``ceil(max_epochs * N_u / (B_u * world_size))``, with ``N_u``
    the unlabeled images and ``B_u`` those per GPU and iteration
    (:func:`~mmseg_u2pl.utils.unlabeled_epoch_size`: the same epoch as
    :class:`SemiScheduleHook`'s). So no config restates a split's size, and
    on fewer GPUs the run keeps its epochs and takes more iterations. A
    SupOnly baseline counts the epochs of its split's unlabeled list
    (``SplitListDataset(split_dir=...)``) at its own batch, i.e. as many
    iterations as its semi-supervised twin. A ``PolyLR`` without ``end`` ends
    with the loop (MMEngine's default ``end`` is ``runner.max_iters``).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The train loader.
        max_iters (int, optional): Total iterations.
        max_epochs (float, optional): Total epochs of the unlabeled set.
            Exactly one of ``max_iters`` and ``max_epochs`` is given.
        val_begin, val_interval, dynamic_intervals: As
            ``IterBasedTrainLoop`` (in iterations).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_iters: Optional[int] = None,
                 max_epochs: Optional[float] = None,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        if (max_iters is None) == (max_epochs is None):
            raise ValueError(
                'train_cfg (SemiIterBasedTrainLoop) needs exactly one of max_iters and '
                f'max_epochs, got max_iters={max_iters}, max_epochs={max_epochs} (to give '
                'the iterations of a config that counts epochs: --cfg-options '
                'train_cfg.max_iters=N train_cfg.max_epochs=None)')
        if max_epochs is not None and not (isinstance(max_epochs, (int, float))
                                           and max_epochs > 0):
            raise ValueError(f'train_cfg.max_epochs must be a number > 0, got {max_epochs!r}')
        super().__init__(runner, dataloader, max_iters=1 if max_iters is None else max_iters,
                         val_begin=val_begin, val_interval=val_interval,
                         dynamic_intervals=dynamic_intervals)
        self.max_unlabeled_epochs = max_epochs
        if max_epochs is not None:
            num_unlabeled, per_iter = unlabeled_epoch_size(self.dataloader, get_world_size())
            self._max_iters = math.ceil(Fraction(str(max_epochs)) * num_unlabeled / per_iter)
            print_log(
                f'SemiIterBasedTrainLoop: {max_epochs} epochs of the {num_unlabeled} '
                f'unlabeled images at {per_iter} per iteration (all GPUs) = '
                f'{self._max_iters} iterations', logger='current')
