# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Teacher/student plumbing shared by the semi-supervised segmentors."""
import contextlib
import copy
from typing import Dict, Iterator, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig, OptSampleList,
                         SampleList)

__all__ = ['SemiBaseSegmentor', 'capture_classifier_input']


@contextlib.contextmanager
def capture_classifier_input(decode_head: nn.Module) -> Iterator[List[Tensor]]:
    """Record the feature a ``BaseDecodeHead`` feeds to its classifier.

    Every MMSeg decode head ends in ``cls_seg(feat)`` = ``conv_seg(dropout(feat))``;
    a forward pre-hook on the first of the two modules records ``feat``. This is
    the "512-d decoder feature that the classifier sees" of U2PL for any head.

    Yields:
        list[Tensor]: filled with the captured feature(s) after the forward.
    """
    target = getattr(decode_head, 'dropout', None) or getattr(decode_head, 'conv_seg', None)
    if target is None:
        raise TypeError(f'{type(decode_head).__name__} has no conv_seg/dropout: '
                        'it is not an mmseg BaseDecodeHead')
    captured: List[Tensor] = []
    handle = target.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()


class SemiBaseSegmentor(BaseSegmentor):
    """Base class of teacher/student semi-supervised segmentors.

    Wraps any MMSeg segmentor config (e.g. ``EncoderDecoder``) twice: a
    ``student`` trained by SGD and a ``teacher`` (an EMA of the student kept by
    :class:`MeanTeacherHook`). Batches hold labeled samples (with
    ``gt_sem_seg``) and unlabeled ones (without), as produced by
    :class:`SemiSegDataset` + :class:`SemiSupervisedSampler`.

    ``predict`` runs the teacher by default (``semi_test_cfg.predict_on``), so
    MMSeg's test loop, ``IoUMetric``, slide inference and visualizer work
    unchanged. A plain MMSeg checkpoint (keys without ``student.`` /
    ``teacher.``) loads into both networks.

    Args:
        segmentor (dict): Config of the wrapped MMSeg segmentor.
        semi_train_cfg (dict, optional): Method-specific training settings.
        semi_test_cfg (dict, optional): ``predict_on``: 'teacher' or 'student'.
        data_preprocessor (dict, optional): Defaults to the segmentor's.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if data_preprocessor is None:
            data_preprocessor = segmentor.get('data_preprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # MMSeg segmentors may edit their config (e.g. ``pretrained``): one copy each
        self.student = MODELS.build(copy.deepcopy(segmentor))
        self.teacher = MODELS.build(copy.deepcopy(segmentor))
        self.teacher.requires_grad_(False)
        self.semi_train_cfg = dict(semi_train_cfg or {})
        self.semi_test_cfg = dict(semi_test_cfg or {})
        predict_on = self.semi_test_cfg.setdefault('predict_on', 'teacher')
        if predict_on not in ('teacher', 'student'):
            raise ValueError("semi_test_cfg.predict_on must be 'teacher' or 'student', "
                             f'got {predict_on!r}')
        self.num_classes = self.student.num_classes
        self.ignore_index = self.student.decode_head.ignore_index
        self._register_load_state_dict_pre_hook(self._load_plain_checkpoint)

    # -- initialisation and checkpoints -----------------------------------
    def init_weights(self):
        """Initialise the student; the teacher starts as its copy."""
        super().init_weights()
        self.teacher.load_state_dict(self.student.state_dict())

    @staticmethod
    def _load_plain_checkpoint(state_dict, prefix, *args, **kwargs):
        """Map a plain segmentor checkpoint onto ``student.`` and ``teacher.``."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if not own or any(k[len(prefix):].startswith(('student.', 'teacher.')) for k in own):
            return
        for k in own:
            v = state_dict.pop(k)
            rest = k[len(prefix):]
            state_dict[f'{prefix}student.{rest}'] = v
            state_dict[f'{prefix}teacher.{rest}'] = v.clone()

    # -- inference: delegate to one network ---------------------------------
    @property
    def inference_net(self) -> BaseSegmentor:
        return getattr(self, self.semi_test_cfg['predict_on'])

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.inference_net.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        return self.inference_net.encode_decode(inputs, batch_data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        return self.inference_net.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.inference_net._forward(inputs, data_samples)

    # -- helpers for the training step --------------------------------------
    def split_batch(self, inputs: Tensor, data_samples: SampleList
                    ) -> Tuple[Tensor, SampleList, Tensor, SampleList]:
        """Split a mixed batch into labeled and unlabeled parts."""
        lab = [i for i, ds in enumerate(data_samples) if 'gt_sem_seg' in ds]
        unl = [i for i, ds in enumerate(data_samples) if 'gt_sem_seg' not in ds]
        self.check_labels([data_samples[i] for i in lab])
        return (inputs[lab], [data_samples[i] for i in lab], inputs[unl],
                [data_samples[i] for i in unl])

    def check_labels(self, data_samples: SampleList) -> None:
        """Refuse label values >= num_classes that are not the ignore index."""
        for ds in data_samples:
            gt = ds.gt_sem_seg.data
            bad = (gt >= self.num_classes) & (gt != self.ignore_index)
            if bad.any():
                values = sorted(set(gt[bad].unique().tolist()))
                raise ValueError(
                    f"label map {ds.metainfo.get('seg_map_path', '<unknown file>')} has "
                    f'values {values[:10]} >= num_classes={self.num_classes} that are not '
                    f'the ignore index {self.ignore_index}')

    @staticmethod
    def valid_mask(data_samples: SampleList, shape: Tuple[int, int],
                   device: torch.device) -> Tensor:
        """(B, H, W) bool: True on real pixels, False on batch padding."""
        ys = torch.arange(shape[0], device=device).view(1, -1, 1)
        xs = torch.arange(shape[1], device=device).view(1, 1, -1)
        hw = torch.tensor([ds.metainfo.get('img_shape', shape)[:2] for ds in data_samples],
                          device=device).view(-1, 2, 1, 1)
        return (ys < hw[:, 0]) & (xs < hw[:, 1])

    @staticmethod
    def decode(net: BaseSegmentor, inputs: Tensor) -> Tuple[List[Tensor], Tensor, Tensor]:
        """Backbone + decode head of ``net``.

        Returns:
            tuple: backbone/neck features, the decode head's logits and the
            decoder feature its classifier sees.
        """
        feats = net.extract_feat(inputs)
        with capture_classifier_input(net.decode_head) as cap:
            logits = net.decode_head(feats)
        return feats, logits, cap[-1]

    def supervised_losses(self, feats: List[Tensor], logits: Tensor,
                          data_samples: SampleList) -> Dict[str, Tensor]:
        """L_s: the wrapped segmentor's own decode + auxiliary losses (Eq. 2).

        OHEM, loss weights and auxiliary heads all come from the segmentor
        config. ``feats``/``logits`` may hold more images than
        ``data_samples``; the first ``len(data_samples)`` are used.
        """
        n = len(data_samples)
        losses = {f'decode.{k}': v for k, v in
                  self.student.decode_head.loss_by_feat(logits[:n], data_samples).items()}
        if self.student.with_auxiliary_head:
            losses.update(self.student._auxiliary_head_forward_train(
                [f[:n] for f in feats], data_samples))
        return losses

    @staticmethod
    def resize_like(x: Tensor, size: Tuple[int, int], align_corners: bool) -> Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(x, size=size, mode='bilinear', align_corners=align_corners)

    @staticmethod
    def labels_to(labels: Tensor, size: Tuple[int, int]) -> Tensor:
        """Nearest-neighbour resize of (B, H, W) integer labels."""
        if tuple(labels.shape[-2:]) == tuple(size):
            return labels
        return F.interpolate(labels[:, None].float(), size=size, mode='nearest')[:, 0].long()
