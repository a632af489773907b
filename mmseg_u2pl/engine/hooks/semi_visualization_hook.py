# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""What a semi-supervised method does to the unlabeled images while it trains."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmseg.registry import HOOKS
from ...models.utils.pseudo_labeling import pixel_entropy

__all__ = ['SemiVisualizationHook', 'semi_panel']


def _colorize(labels: np.ndarray, palette: Sequence[Sequence[int]],
              ignore_index: int = 255) -> np.ndarray:
    pal = np.zeros((256, 3), np.uint8)
    pal[:len(palette)] = np.asarray(palette, np.uint8)[:256]
    pal[ignore_index] = 0
    return pal[labels.astype(np.int64).clip(0, 255)]


def _heat(values: np.ndarray) -> np.ndarray:
    """[0, 1] -> dark blue ... yellow (a simple perceptual ramp)."""
    v = values.clip(0, 1)[..., None]
    lo, mid, hi = np.array([40, 0, 80]), np.array([220, 60, 60]), np.array([250, 230, 40])
    return np.where(v < 0.5, lo + (mid - lo) * (v * 2), mid + (hi - mid) * (v * 2 - 1)).astype(
        np.uint8)


def semi_panel(image: np.ndarray, probs: torch.Tensor, pseudo: torch.Tensor,
               reliable: torch.Tensor, valid: torch.Tensor,
               palette: Sequence[Sequence[int]], ignore_index: int = 255) -> np.ndarray:
    """One row: the image | the teacher's argmax | the normalised entropy |
    the pseudo-labels kept by the method (black: not used) | reliable (white)
    / unreliable (red) / padding (black).

    Args:
        image (np.ndarray): (H, W, 3) RGB uint8.
        probs (Tensor): (C, H, W) teacher probabilities.
        pseudo, reliable, valid (Tensor): (H, W) maps of the step.
    """
    C = probs.shape[0]
    argmax = probs.argmax(0).masked_fill(~valid, ignore_index).cpu().numpy()
    entropy = (pixel_entropy(probs[None].float())[0] / np.log(C)).cpu().numpy()
    part = np.zeros(argmax.shape + (3, ), np.uint8)
    r, v = reliable.cpu().numpy(), valid.cpu().numpy()
    part[r] = 255
    part[v & ~r] = (220, 30, 30)
    cols = [image, _colorize(argmax, palette, ignore_index), _heat(entropy) * v[..., None],
            _colorize(pseudo.cpu().numpy(), palette, ignore_index), part]
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    row = []
    for c in cols:
        row += [c, gap]
    return np.concatenate(row[:-1], axis=1)


@HOOKS.register_module()
class SemiVisualizationHook(Hook):
    """Every ``interval`` iterations, draw for ``num_images`` unlabeled images
    of the batch what the method makes of them: the image, the teacher's
    prediction, its entropy, the pseudo-labels the method keeps and the
    reliable / unreliable partition (:func:`semi_panel`), through the
    runner's visualizer (``add_image``), so the panels land in its backends
    (``vis_data/vis_image`` locally, TensorBoard, ...).

    The panels come from the method's own steps on the un-mixed images
    (``teacher_predict`` and ``pseudo_label``: U2PL's entropy partition,
    AEL's equalization sampling, ESL's confident pixels, ...); methods
    without a teacher (CPS) are skipped with one warning. Off by default:
    every config of this package lists it in ``default_hooks`` with
    ``enable=False``; ``--cfg-options default_hooks.semi_visualization.enable=True``
    switches it on.

    Args:
        interval (int): Iterations between two drawings.
        num_images (int): Unlabeled images drawn each time.
        enable (bool): Whether to draw at all.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 500, num_images: int = 2, enable: bool = False):
        if interval < 1 or num_images < 1:
            raise ValueError(f'SemiVisualizationHook interval and num_images must be >= 1, '
                             f'got {interval}, {num_images}')
        self.interval, self.num_images, self.enable = interval, num_images, enable
        self._warned = False

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None, outputs=None) -> None:
        if not self.enable or data_batch is None or \
                not self.every_n_train_iters(runner, self.interval):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'teacher_predict') or not hasattr(model, 'teacher'):
            if not self._warned:
                runner.logger.warning(f'SemiVisualizationHook: {type(model).__name__} has no '
                                      'teacher; nothing is drawn')
                self._warned = True
            return
        self.draw(runner, model, data_batch)

    @torch.no_grad()
    def draw(self, runner: Runner, model, data_batch: dict) -> None:
        from ...models.segmentors.semi_base import SemiStep
        data = model.data_preprocessor(data_batch, True)
        x, samples = data['inputs'], data['data_samples']
        unl = [i for i, ds in enumerate(samples) if 'gt_sem_seg' not in ds][:self.num_images]
        if not unl:
            return
        step = SemiStep(x[:0], [], x[unl], [samples[i] for i in unl], extra={})
        state = torch.get_rng_state()
        cuda_state = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        model.teacher_predict(step)
        model.pseudo_label(step)
        torch.set_rng_state(state)  # drawing does not change the run
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
        palette = runner.visualizer.dataset_meta.get('palette') if \
            runner.visualizer.dataset_meta else None
        C = step.probs_u.shape[1]
        if not palette:
            rng = np.random.default_rng(0)
            palette = rng.integers(0, 255, (C, 3)).tolist()
        for k, i in enumerate(unl):
            H, W = samples[i].metainfo.get('img_shape', x.shape[-2:])[:2]
            raw = data_batch['inputs'][i]
            img = raw.permute(1, 2, 0).cpu().numpy()[:H, :W].clip(0, 255).astype(np.uint8)
            img = img[..., ::-1]  # BGR as loaded -> RGB
            panel = semi_panel(
                np.ascontiguousarray(img), step.probs_u[k][:, :H, :W],
                step.pseudo[k][:H, :W], step.reliable[k][:H, :W], step.valid_u[k][:H, :W],
                palette, model.ignore_index)
            runner.visualizer.add_image(f'semi_unlabeled_{k}', panel, step=runner.iter + 1)
