# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The template of every semi-supervised segmentor, and its teacher/student
plumbing.

One training step (:meth:`SemiBaseSegmentor.loss`), as in MMDetection 3.x's
``SemiBaseDetector``: supervised loss -> teacher prediction of the unlabeled
images -> mixing -> pseudo-labels -> student prediction -> losses. A method
is a small subclass that overrides the steps it changes:

=====================  ======================================================
step                   overridden by
=====================  ======================================================
``teacher_predict``    (shared: the EMA teacher in eval mode)
``mix``                CutMix-Seg (and U2PL through it), AEL (adaptive CutMix)
``pseudo_label``       U2PL (entropy partition, Eq. 5-7), AEL (equalization)
``mix_labeled``        AEL (adaptive copy-paste)
``unsupervised_loss``  Mean Teacher (CE or softmax MSE), U2PL (Eq. 3, 8), AEL
``extra_losses``       U2PL (L_c, Eq. 4, 9-16)
=====================  ======================================================

The schedule (warm start, epochs) is read from the message hub
(:func:`~mmseg_u2pl.utils.current_semi_schedule`), never written onto the
model.
"""
import contextlib
import copy
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig, OptSampleList,
                         SampleList)
from ...utils.semi_schedule import current_semi_schedule

__all__ = ['SemiBaseSegmentor', 'SemiStep', 'capture_classifier_input']


@dataclass
class SemiStep:
    """What one semi-supervised step has computed so far.

    Filled in order by the steps of :meth:`SemiBaseSegmentor.loss`; a method
    may add what it needs in ``extra``.

    Attributes:
        x_l, ds_l: labeled images and their samples (with ``gt_sem_seg``).
        x_u, ds_u: unlabeled images (mixed after ``mix``) and their samples.
        valid_u: (B_u, H, W) bool, real pixels (False on batch padding).
        probs_u: (B_u, C, H, W) teacher probabilities at input resolution.
        pseudo: (B_u, H, W) long pseudo-labels, ``ignore_index`` where not used.
        reliable: (B_u, H, W) bool, pixels that carry a pseudo-label.
        feats, logits, dec_feat: the student's backbone/neck features,
            decode-head logits and classifier input on ``[x_l ; x_u]``.
        extra: method-specific values.
    """
    x_l: Tensor
    ds_l: SampleList
    x_u: Tensor
    ds_u: SampleList
    valid_u: Optional[Tensor] = None
    probs_u: Optional[Tensor] = None
    pseudo: Optional[Tensor] = None
    reliable: Optional[Tensor] = None
    feats: Optional[List[Tensor]] = None
    logits: Optional[Tensor] = None
    dec_feat: Optional[Tensor] = None
    extra: Optional[dict] = None

    @property
    def num_labeled(self) -> int:
        return len(self.ds_l)


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
    """Template of teacher/student semi-supervised segmentors.

    Wraps any MMSeg segmentor config (e.g. ``EncoderDecoder``) twice: a
    ``student`` trained by SGD and a ``teacher`` (an EMA of the student kept by
    :class:`MeanTeacherHook`). Batches hold labeled samples (with
    ``gt_sem_seg``) and unlabeled ones (without), as produced by
    :class:`SemiSegDataset` + :class:`SemiSupervisedSampler`.

    Subclasses declare their knobs in ``default_train_cfg`` (unknown keys of
    ``semi_train_cfg`` are refused, naming the key) and override the steps
    of :meth:`loss` they change.

    ``predict`` runs the teacher by default (``semi_test_cfg.predict_on``), so
    MMSeg's test loop, ``IoUMetric``, slide inference and visualizer work
    unchanged. A plain MMSeg checkpoint (keys without ``student.`` /
    ``teacher.``) loads into both networks.

    Args:
        segmentor (dict): Config of the wrapped MMSeg segmentor.
        semi_train_cfg (dict, optional): Method-specific training settings;
            missing keys take ``default_train_cfg``.
        semi_test_cfg (dict, optional): ``predict_on``: 'teacher' or 'student'.
        data_preprocessor (dict, optional): Defaults to the segmentor's.
    """

    default_train_cfg: dict = {}
    #: the second network: ``'teacher'`` (an EMA, no gradient) or, e.g. for
    #: CPS, ``'peer'`` (trained like the student)
    second_network: str = 'teacher'
    default_predict_on: str = 'teacher'

    def __init__(self,
                 segmentor: ConfigType,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 pretrained: Optional[str] = None,
                 train_cfg: OptConfigType = None):
        # MMSeg's init_model / MMSegInferencer set model.pretrained and
        # model.train_cfg to None on any config: accepted as such; a value
        # belongs to the wrapped segmentor
        for key, value in (('pretrained', pretrained), ('train_cfg', train_cfg)):
            if value is not None:
                raise ValueError(f'model.{key} of {type(self).__name__} must be None, got '
                                 f'{value!r}: set model.segmentor.{key} instead')
        own = segmentor.get('data_preprocessor')
        if data_preprocessor is None:
            data_preprocessor = own
        elif own is not None and self._without_scope(data_preprocessor) != \
                self._without_scope(own):
            # MMEngine's Runner fills a missing model.data_preprocessor from the
            # config's top-level `data_preprocessor` variable: a base that
            # changes only the segmentor's (e.g. its crop size) would otherwise
            # pad the batches to the wrong size
            raise ValueError(
                f'model.data_preprocessor {dict(data_preprocessor)} differs from '
                f'model.segmentor.data_preprocessor {dict(own)}. MMEngine sets the first '
                "from the config's top-level `data_preprocessor` variable when the model "
                'has none: change that variable together with the segmentor\'s (or set '
                'model.data_preprocessor to the same dict)')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # MMSeg segmentors may edit their config (e.g. ``pretrained``): one copy each
        self.student = MODELS.build(copy.deepcopy(segmentor))
        setattr(self, self.second_network, MODELS.build(copy.deepcopy(segmentor)))
        if self.second_network == 'teacher':
            self.teacher.requires_grad_(False)
        self.semi_train_cfg = self.merge_train_cfg(semi_train_cfg)
        self.semi_test_cfg = dict(semi_test_cfg or {})
        predict_on = self.semi_test_cfg.setdefault('predict_on', self.default_predict_on)
        if predict_on not in ('student', self.second_network):
            raise ValueError(f"semi_test_cfg.predict_on must be 'student' or "
                             f"'{self.second_network}', got {predict_on!r}")
        self.num_classes = self.student.num_classes
        self.ignore_index = self.student.decode_head.ignore_index
        self.align_corners = self.student.decode_head.align_corners
        self._register_load_state_dict_pre_hook(self._load_plain_checkpoint)

    @staticmethod
    def _without_scope(cfg) -> dict:
        return {k: v for k, v in dict(cfg).items() if k != '_scope_'}

    @classmethod
    def merge_train_cfg(cls, semi_train_cfg: OptConfigType) -> dict:
        """``default_train_cfg`` updated by ``semi_train_cfg``; unknown keys
        are refused."""
        given = dict(semi_train_cfg or {})
        unknown = set(given) - set(cls.default_train_cfg)
        if unknown:
            raise KeyError(f'unknown key(s) in {cls.__name__} semi_train_cfg: '
                           f'{sorted(unknown)}; expected {sorted(cls.default_train_cfg)}')
        return dict(copy.deepcopy(cls.default_train_cfg), **given)

    # -- the training step (template) ----------------------------------------
    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """One step: ``L_s`` + the method's unsupervised and extra losses."""
        x_l, ds_l, x_u, ds_u = self.split_batch(inputs, data_samples)
        if len(ds_l) == 0:
            raise ValueError('a training batch holds no labeled sample; use '
                             'SemiSupervisedSampler with a SemiSegDataset')
        if current_semi_schedule().warm_start or len(ds_u) == 0:
            return self.supervised_step(x_l, ds_l)
        self.check_semi_batch(len(ds_u))
        step = SemiStep(x_l, ds_l, x_u, ds_u, extra={})
        self.teacher_predict(step)
        self.mix(step)
        self.pseudo_label(step)
        self.mix_labeled(step)
        self.student_predict(step)
        losses = self.labeled_losses(step)
        losses.update(self.unsupervised_loss(step))
        losses.update(self.extra_losses(step))
        return losses

    def supervised_step(self, x_l: Tensor, ds_l: SampleList) -> Dict[str, Tensor]:
        """Warm start (or a batch without unlabeled images): ``L_s`` only."""
        feats, logits, _ = self.decode(self.student, x_l)
        return self.supervised_losses(feats, logits, ds_l)

    def check_semi_batch(self, unlabeled_per_batch: int) -> None:
        """Refuse a per-GPU number of unlabeled images the method cannot use
        (called before training by :class:`SemiScheduleHook` and in every
        step). Nothing is refused by default."""

    def teacher_predict(self, step: SemiStep) -> None:
        """The teacher (eval mode, no grad) predicts the unlabeled images:
        ``step.probs_u`` at input resolution and ``step.valid_u``."""
        H, W = step.x_u.shape[-2:]
        self.teacher.eval()
        with torch.no_grad():
            _, logits_t, _ = self.decode(self.teacher, step.x_u)
            # fp32 probabilities: the pseudo-labels, entropies and their
            # percentiles come from them (mixed precision: utils.precision)
            step.probs_u = self.resize_like(logits_t.float(), (H, W),
                                            self.align_corners).softmax(1)
        step.valid_u = self.valid_mask(step.ds_u, (H, W), step.x_u.device)

    def mix(self, step: SemiStep) -> None:
        """Mix the unlabeled images with what was predicted on them (none)."""

    def pseudo_label(self, step: SemiStep) -> None:
        """Hard pseudo-labels: the teacher's argmax on every real pixel."""
        step.reliable = step.valid_u
        step.pseudo = step.probs_u.argmax(1).masked_fill(~step.valid_u, self.ignore_index)

    def mix_labeled(self, step: SemiStep) -> None:
        """Augment the labeled images and their labels (none by default)."""

    def student_predict(self, step: SemiStep) -> None:
        """The student on ``[x_l ; x_u]`` in one forward."""
        step.feats, step.logits, step.dec_feat = self.decode(
            self.student, torch.cat([step.x_l, step.x_u]))

    def labeled_losses(self, step: SemiStep) -> Dict[str, Tensor]:
        """``L_s`` of the student on the labeled images (Eq. 2 of U2PL)."""
        return self.supervised_losses(step.feats, step.logits, step.ds_l)

    def unsupervised_loss(self, step: SemiStep) -> Dict[str, Tensor]:
        """The loss on the unlabeled images (none in the template)."""
        return {}

    def extra_losses(self, step: SemiStep) -> Dict[str, Tensor]:
        """Method-specific terms (none in the template)."""
        return {}

    def student_logits_u(self, step: SemiStep) -> Tensor:
        """The student's logits on the unlabeled images at input resolution."""
        return self.resize_like(step.logits[step.num_labeled:], tuple(step.x_u.shape[-2:]),
                                self.align_corners)

    # -- initialisation and checkpoints -----------------------------------
    def init_weights(self):
        """Initialise the networks; a teacher starts as the student's copy."""
        super().init_weights()
        if self.second_network == 'teacher':
            self.teacher.load_state_dict(self.student.state_dict())

    def _load_plain_checkpoint(self, state_dict, prefix, *args, **kwargs):
        """Map a plain segmentor checkpoint onto both networks."""
        nets = ('student.', f'{self.second_network}.')
        own = [k for k in state_dict if k.startswith(prefix)]
        if not own or any(k[len(prefix):].startswith(nets) for k in own):
            return
        for k in own:
            v = state_dict.pop(k)
            rest = k[len(prefix):]
            state_dict[f'{prefix}{nets[0]}{rest}'] = v
            state_dict[f'{prefix}{nets[1]}{rest}'] = v.clone()

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
        if lab == list(range(len(lab))):  # labeled first (the sampler's order): views,
            x_l, x_u = inputs[:len(lab)], inputs[len(lab):]  # no index upload / sync
        else:
            x_l, x_u = inputs[lab], inputs[unl]
        return x_l, [data_samples[i] for i in lab], x_u, [data_samples[i] for i in unl]

    def check_labels(self, data_samples: SampleList) -> None:
        """Refuse label values >= num_classes that are not the ignore index.

        One host synchronisation per batch (not one per image); the images
        are searched one by one only to name the file of a bad label map.
        """
        if not data_samples:
            return
        flags = [((ds.gt_sem_seg.data >= self.num_classes) &
                  (ds.gt_sem_seg.data != self.ignore_index)).any() for ds in data_samples]
        if not torch.stack(flags).any():
            return
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
        """(B, H, W) bool: True on real pixels, False on batch padding.

        Built by slice fills from the host-side image sizes: no upload of
        the sizes, so no host synchronisation on a GPU.
        """
        sizes = [tuple(ds.metainfo.get('img_shape', shape)[:2]) for ds in data_samples]
        if all(h >= shape[0] and w >= shape[1] for h, w in sizes):  # no padding
            return torch.ones((len(sizes), ) + tuple(shape), dtype=torch.bool, device=device)
        mask = torch.zeros((len(sizes), ) + tuple(shape), dtype=torch.bool, device=device)
        for i, (h, w) in enumerate(sizes):
            mask[i, :h, :w] = True
        return mask

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
                          data_samples: SampleList,
                          net: Optional[BaseSegmentor] = None) -> Dict[str, Tensor]:
        """L_s: the wrapped segmentor's own decode + auxiliary losses (Eq. 2).

        OHEM, loss weights and auxiliary heads all come from the segmentor
        config. ``feats``/``logits`` may hold more images than
        ``data_samples``; the first ``len(data_samples)`` are used. ``net``
        defaults to the student.
        """
        net = self.student if net is None else net
        n = len(data_samples)
        losses = {f'decode.{k}': v for k, v in
                  net.decode_head.loss_by_feat(logits[:n], data_samples).items()}
        if net.with_auxiliary_head:
            losses.update(net._auxiliary_head_forward_train(
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
