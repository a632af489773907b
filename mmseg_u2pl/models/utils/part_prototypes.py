# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""ESL's part prototypes: K prototypes per class in the projector space
(Ma et al., "Enhanced Soft Label for Semi-Supervised Semantic Segmentation",
ICCV 2023, pixel-to-part contrast)."""
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.registry import MODELS
from ...utils.precision import float32

__all__ = ['ClassPartPrototypes', 'spherical_kmeans']


@float32
def spherical_kmeans(feats: Tensor, init: Tensor, iters: int = 10) -> Tensor:
    """K-means with cosine similarity from given centroids.

    Each iteration assigns every (normalised) point to its most similar
    centroid and moves each centroid to the normalised mean of its points;
    a centroid without points stays where it is.

    Args:
        feats (Tensor): (P, D) points.
        init (Tensor): (K, D) initial centroids.
        iters (int): Iterations.

    Returns:
        Tensor: (K, D) unit-norm centroids.
    """
    x = F.normalize(feats.float(), dim=1)
    cent = F.normalize(init.float(), dim=1)
    K = cent.shape[0]
    for _ in range(iters):
        assign = (x @ cent.t()).argmax(1)
        sums = torch.zeros_like(cent).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=K)
        cent = torch.where(counts[:, None] > 0, F.normalize(sums, dim=1), cent)
    return cent


@MODELS.register_module()
class ClassPartPrototypes(nn.Module):
    """``num_parts`` unit-norm prototypes per class.

    - :meth:`initialize`: a class gets its prototypes the first time it has
      at least ``num_parts`` pixels, by :func:`spherical_kmeans` on (up to
      ``max_init_points`` of) them, started from distinct random pixels.
      Under DDP rank 0's prototypes are then broadcast, so every rank holds
      the same ones.
    - :meth:`assign`: a pixel of class c belongs to the part whose prototype
      is most similar (cosine).
    - :meth:`update`: ``p_ck <- normalise(m p_ck + (1 - m) mean_ck)`` with the
      mean of the batch's features of part (c, k), all-reduced under DDP.

    The prototypes are buffers of the segmentor, saved in checkpoints.

    Args:
        num_classes (int): C.
        dim (int): Feature dimension.
        num_parts (int): K (ESL: 5).
        momentum (float): m (ESL: 0.99).
        kmeans_iters (int): K-means iterations at initialisation.
        max_init_points (int): Pixels used for the K-means of one class.
    """

    def __init__(self, num_classes: int, dim: int, num_parts: int = 5,
                 momentum: float = 0.99, kmeans_iters: int = 10,
                 max_init_points: int = 4096):
        super().__init__()
        if num_parts < 1:
            raise ValueError(f'ClassPartPrototypes num_parts must be >= 1, got {num_parts}')
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'ClassPartPrototypes momentum must be in [0, 1), got {momentum}')
        self.num_classes, self.dim, self.num_parts = num_classes, dim, num_parts
        self.momentum, self.kmeans_iters = momentum, kmeans_iters
        self.max_init_points = max_init_points
        self.register_buffer('prototypes', torch.zeros(num_classes, num_parts, dim))
        self.register_buffer('initialized', torch.zeros(num_classes, dtype=torch.bool))

    @staticmethod
    def _distributed() -> bool:
        return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1

    @torch.no_grad()
    def initialize(self, feats: Tensor, labels: Tensor) -> None:
        """K-means for every class seen for the first time.

        Args:
            feats (Tensor): (P, D) features. labels (Tensor): (P,) classes.
        """
        K = self.num_parts
        for c in torch.unique(labels).tolist():
            if bool(self.initialized[c]):
                continue
            x = feats[labels == c]
            if x.shape[0] < K:
                continue
            if x.shape[0] > self.max_init_points:
                x = x[torch.randperm(x.shape[0], device=x.device)[:self.max_init_points]]
            init = x[torch.randperm(x.shape[0], device=x.device)[:K]]
            self.prototypes[c] = spherical_kmeans(x, init, self.kmeans_iters).to(
                self.prototypes.dtype)
            self.initialized[c] = True
        if self._distributed():
            dist.broadcast(self.prototypes, 0)
            flags = self.initialized.to(torch.uint8)
            dist.broadcast(flags, 0)
            self.initialized.copy_(flags.bool())

    @float32
    @torch.no_grad()
    def assign(self, feats: Tensor, labels: Tensor) -> Tensor:
        """(P,) part of each pixel: the most similar prototype of its class."""
        protos = self.prototypes[labels]                      # (P, K, D)
        return torch.einsum('pd,pkd->pk', F.normalize(feats, dim=1), protos).argmax(1)

    @float32
    @torch.no_grad()
    def update(self, feats: Tensor, labels: Tensor, parts: Tensor) -> None:
        """One EMA step from the batch's part means (initialised classes)."""
        C, K, D = self.prototypes.shape
        key = labels * K + parts
        sums = torch.zeros(C * K, D, device=feats.device).index_add_(
            0, key, F.normalize(feats.float(), dim=1))
        counts = torch.bincount(key, minlength=C * K).to(sums.dtype)
        if self._distributed():
            dist.all_reduce(sums)
            dist.all_reduce(counts)
        mean = (sums / counts.clamp(min=1)[:, None]).view(C, K, D)
        m = self.momentum
        new = F.normalize(m * self.prototypes + (1 - m) * mean.to(self.prototypes.dtype), dim=2)
        seen = (counts.view(C, K) > 0) & self.initialized[:, None]
        self.prototypes.copy_(torch.where(seen[..., None], new, self.prototypes))
