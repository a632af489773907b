# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Time the authors' U2PL training step against ours, side by side.

    python tools/benchmark/authors_side_by_side.py --authors-repo PATH
        [--device cpu|cuda] [--crop 769 769] [--labeled 2] [--unlabeled 2]
        [--iters 10] [--warmup 3] [--rounds 3] [--network matched|config]
        [--bank full|empty] [--no-floor] [--json OUT]

PATH is a local clone of the authors' public code
(https://github.com/Haochen-Wang409/U2PL). Nothing of it is copied into this
project: a child process puts PATH on ``sys.path`` and imports their modules.

**What is timed.** One training step of each implementation on the same
generated batch (the batch of ``tools/benchmark/step_profile.py``'s
``make_batch``: the same pixels and labels, ImageNet-normalised, labeled
images first), the same crop, the same per-GPU batch (``--labeled`` +
``--unlabeled``), 19 classes, random weights on both sides (no pretrained
weights are loaded; their ``resnet101(pretrained=True)`` default is turned
off), world size 1, fp32, no data loading.

- *Ours*: ``configs/u2pl/u2pl_r101_cityscapes_1-16.py`` built by
  ``step_profile.build`` (crop and per-GPU batch edited to the requested
  ones), then what a Runner's iteration does: ``model.loss``, backward, the
  optimizer step and ``MeanTeacherHook.momentum_update``.
- *Theirs*: their ``train_semi.py``, function ``train()``, the body of the
  loop over ``step`` in the branch ``epoch >= sup_only_epoch`` (the
  semi-supervised step with the contrastive loss on, their Cityscapes
  config ``experiments/cityscapes/744/ours/config.yaml``: CutMix with
  probability 0.5, OHEM, auxiliary head, ``negative_high_entropy``, no
  ``binary``, no ``anchor_ema``), transcribed call for call in their order
  (:meth:`AuthorsSide.step`): lr scheduler step; teacher (eval) forward on the
  unlabeled images, softmax, max; their ``generate_unsup_data``; student
  forward on labeled + mixed unlabeled; their OHEM criterion
  (``get_criterion``); teacher (train mode, no grad) forward on the same
  batch; ``compute_unsupervised_loss`` with the entropy-percentile drop;
  the entropy masks and ``label_onehot``; ``compute_contra_memobank_loss``
  with their class-wise memory bank (``dequeue_and_enqueue``, which
  all-gathers); ``dist.all_reduce`` of L_c; backward, SGD step; their EMA
  formula; the all-reduce + ``.item()`` of the three losses their loop logs.
  The network, criterion, optimizer, scheduler and memory bank are built as
  in their ``main()`` (``ModelBuilder``, ``get_criterion``,
  ``get_optimizer`` with their parameter groups, ``get_scheduler``).
  Neither side is wrapped in DistributedDataParallel (world size 1, where
  DDP only adds its gradient buckets); their code's collectives (barrier,
  ``all_gather_object``, ``all_reduce``) run in a 1-process group (gloo on
  CPU, nccl on CUDA), as they do at world size 1. Left out of theirs: data
  loading and the logging every 10 iterations (the meters are updated). On
  CPU their ``.cuda()`` calls are made no-ops while their code runs
  (:func:`cuda_as_noop`).

Both networks start alike: random weights, then the same two adjustments on
both sides, so that the step does what it does in training: the last
classifier convolution is re-drawn with logits of std ``--logit-std`` (8)
and the BN running statistics are set from one training-mode pass on the
batch (a fresh network is so unsure, and a fresh eval-mode teacher so flat,
that no pixel passes delta_p = 0.3 and L_c's sampling would never run);
then the teacher is a copy of the student.

Both sides stand at the same point of the schedule: epoch 10 of 200 with 100
iterations per epoch (the unreliable ratio alpha_t and the drop percentile
follow from it; their EMA decay is 0.99 there, ours too). ``--bank full``
(default) fills both memory banks to capacity first (random features), the
steady state of a run after its first iterations at 769 crops (their queues:
30000 per class, 50000 for class 0, on the host; ours: 30000 per class, on
the device); ``--bank empty`` starts both empty.

**Fairness.** Each side runs in its own child process per round (so each has
its own peak memory) and the driver alternates them: ours, theirs, ours,
theirs... for ``--rounds`` rounds, on the same device, with the same
environment (threads, ``cudnn.benchmark=True`` on CUDA, as both train).
Each child does ``--warmup`` steps, then ``--iters`` timed steps
(synchronised on CUDA) and prints one JSON line; the step time of a side is
the median over all its timed steps. Peak memory: on CUDA
``torch.cuda.max_memory_allocated`` over the timed steps (after
``reset_peak_memory_stats``); on CPU the child's peak resident set
(``ru_maxrss``) minus the resident set before building the networks. Both
are reported with the host-RSS increase (their memory bank lives on the
host, ours on the device). With ``--floor`` (default) each child also times
its network passes alone on the same tensors (teacher on the unlabeled
images, student forward + backward, the teacher's second forward), so the
step / floor of each side separates the network from the step's machinery.

**The networks.** Both are DeepLabV3+ on ResNet-101 at output stride 8 with
an auxiliary FCN head on layer 3 (1024 -> 256 -> 19) and a representation
head for L_c. ``--network matched`` (default) sets our backbone to theirs by
config options (deep stem of 64-64-128 channels: ``stem_channels=128``;
layer-4 dilations 4, 8, 16: ``multi_grid=(4, 8, 16)``); the backbones are
then the same (the parameter counts are printed; their stem max-pool rounds
up, ours down: the same sizes at crops of 8k + 1 such as 769). The decoders differ and
no MMSeg config option makes them equal: theirs is an ASPP of dense 3x3
convolutions (2048 -> 256, dilations 12/24/36, plus a 3x3 1280 -> 256
bottleneck), a 1x1 256 -> 256 low-level branch and two 3x3 convolutions to
the classifier; ours is MMSeg's ``DepthwiseSeparableASPPHead`` (depthwise
separable dilated 3x3 2048 -> 512 and a dense 3x3 2560 -> 512 bottleneck,
a 1x1 256 -> 48 low-level branch, two depthwise separable 3x3). Their
representation head is two 3x3 + one 1x1 on the 512-channel concatenation;
ours two 3x3 (512 -> 256 -> 256) on the decoder feature. Their auxiliary
head runs on the whole batch, ours on the labeled images only. Each child
reports its student's parameters per part and the multiply-accumulates of
its convolutions in the student's passes of a step (``student_gmacs``).
``--network config`` keeps our config's backbone (stem 32-32-64, layer-4
dilation 4 throughout).

**Goals** (issue 15): at the Cityscapes setting (769 x 769, 2 labeled + 2
unlabeled per GPU, on a GPU) ours >= 2x their step throughput and <= 0.6x
their peak memory. The table says met / not met, and that a run at another
setting (another crop, batch, or a CPU) is indicative only.
"""
import argparse
import contextlib
import hashlib
import importlib
import json
import os
import os.path as osp
import random
import socket
import statistics
import subprocess
import sys
import time
import types
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))
for _p in (ROOT, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from step_profile import peak_rss_bytes  # noqa: E402

OUR_CONFIG = osp.join(ROOT, 'configs/u2pl/u2pl_r101_cityscapes_1-16.py')
AUTHORS_CONFIG = 'experiments/cityscapes/744/ours/config.yaml'
# what the benchmark imports or reads from their clone, in that order
AUTHORS_FILES = ('train_semi.py', 'u2pl/models/model_helper.py', 'u2pl/models/resnet.py',
                 'u2pl/models/decoder.py', 'u2pl/utils/loss_helper.py', 'u2pl/utils/utils.py',
                 'u2pl/utils/lr_helper.py', 'u2pl/dataset/augmentation.py', AUTHORS_CONFIG)
NUM_CLASSES = 19
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)
# the point of the schedule both sides stand at
EPOCH, ITERS_PER_EPOCH, TOTAL_EPOCHS = 10, 100, 200
GOALS = dict(throughput=2.0, memory=0.6)  # ours / theirs: >= 2x steps/s, <= 0.6x memory
CITYSCAPES_SETTING = dict(crop=(769, 769), labeled=2, unlabeled=2, device='cuda')
MATCHED_BACKBONE = dict(stem_channels=128, multi_grid=(4, 8, 16))
RESULT_TAG = 'SIDE_BY_SIDE_RESULT '
SIDES = ('ours', 'authors')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--authors-repo', required=True,
                   help="local clone of the authors' U2PL code (github.com/Haochen-Wang409/U2PL)")
    p.add_argument('--authors-commit', help="their commit, recorded in the output (default: "
                   "`git rev-parse HEAD` in --authors-repo, when it is a git work tree)")
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                   choices=['cpu', 'cuda'])
    p.add_argument('--crop', type=int, nargs=2, default=[769, 769], metavar=('H', 'W'))
    p.add_argument('--labeled', type=int, default=2, help='labeled images per GPU')
    p.add_argument('--unlabeled', type=int, default=2, help='unlabeled images per GPU')
    p.add_argument('--iters', type=int, default=10, help='timed steps per child')
    p.add_argument('--warmup', type=int, default=3, help='untimed steps per child first')
    p.add_argument('--rounds', type=int, default=3, help='ours/theirs child pairs')
    p.add_argument('--network', choices=['matched', 'config'], default='matched',
                   help="matched: our backbone set to theirs by config options; "
                   "config: our config's backbone as it is")
    p.add_argument('--bank', choices=['full', 'empty'], default='full',
                   help='memory banks filled to capacity first (steady state) or empty')
    p.add_argument('--floor', action=argparse.BooleanOptionalAction, default=True,
                   help='also time each side\'s network passes alone')
    p.add_argument('--logit-std', type=float, default=8.0,
                   help="std of the random classifier's logits on both sides (confident "
                   'predictions, so that L_c finds anchors and negatives)')
    p.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default='none',
                   help="our step in mixed precision (MMEngine's AmpOptimWrapper); the "
                   "authors' code has none and always runs in fp32")
    p.add_argument('--json', help='write the measurements here')
    p.add_argument('--side', choices=SIDES,
                   help='(internal) run one side in this process and print its JSON line')
    args = p.parse_args(argv)
    for name in ('iters', 'rounds', 'labeled', 'unlabeled'):
        if getattr(args, name) < 1:
            p.error(f'--{name} must be >= 1, got {getattr(args, name)}')
    if args.amp != 'none' and args.device != 'cuda':
        p.error(f"--amp {args.amp} needs --device cuda (MMEngine's AmpOptimWrapper trains on "
                'a GPU only)')
    if args.warmup < 0:
        p.error(f'--warmup must be >= 0, got {args.warmup}')
    if min(args.crop) < 33:
        p.error(f'--crop must be at least 33 x 33 (output stride 8 and 4), got {args.crop}')
    try:
        args.authors_repo = check_authors_repo(args.authors_repo)
    except FileNotFoundError as e:
        p.error(str(e))
    return args


def check_authors_repo(path: str) -> str:
    """The absolute path of their clone; ``FileNotFoundError`` naming the
    first file of :data:`AUTHORS_FILES` it lacks."""
    path = osp.abspath(osp.expanduser(path))
    if not osp.isdir(path):
        raise FileNotFoundError(f"--authors-repo {path}: no such directory (a clone of the "
                                f"authors' U2PL code is needed)")
    for rel in AUTHORS_FILES:
        if not osp.isfile(osp.join(path, rel)):
            raise FileNotFoundError(f"--authors-repo {path} is not the authors' U2PL "
                                    f'repository: it lacks {rel}')
    return path


def authors_identity(path: str, commit: Optional[str] = None) -> Dict[str, object]:
    """Their commit (given, or ``git rev-parse HEAD``, else 'unknown') and the
    sha256 of every file of theirs that the benchmark uses."""
    if commit is None:
        try:
            commit = subprocess.run(['git', '-C', path, 'rev-parse', 'HEAD'], check=True,
                                    capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = 'unknown'
    hashes = {}
    for rel in AUTHORS_FILES:
        with open(osp.join(path, rel), 'rb') as f:
            hashes[rel] = hashlib.sha256(f.read()).hexdigest()
    return dict(commit=commit, files_sha256=hashes)


def is_cityscapes_setting(crop: Sequence[int], labeled: int, unlabeled: int,
                          device: str) -> bool:
    """Whether a run is at the setting the goals are stated for."""
    s = CITYSCAPES_SETTING
    return (tuple(crop) == s['crop'] and labeled == s['labeled']
            and unlabeled == s['unlabeled'] and device.startswith(s['device']))


def compare(ours_step_s: float, authors_step_s: float, ours_peak_bytes: float,
            authors_peak_bytes: float, cityscapes_setting: bool,
            goals: Dict[str, float] = GOALS) -> Dict[str, object]:
    """Ratios of ours to theirs and the goals.

    ``throughput_ratio`` = their step time / ours (ours' steps per second
    over theirs), ``memory_ratio`` = our peak / theirs. A goal is met when
    ``throughput_ratio >= goals['throughput']`` and ``memory_ratio <=
    goals['memory']``; ``conclusive`` is whether the run is at the setting the
    goals are stated for.
    """
    if min(ours_step_s, authors_step_s) <= 0 or min(ours_peak_bytes, authors_peak_bytes) <= 0:
        raise ValueError('step times and peak memories must be > 0, got '
                         f'{ours_step_s}, {authors_step_s}, {ours_peak_bytes}, '
                         f'{authors_peak_bytes}')
    throughput = authors_step_s / ours_step_s
    memory = ours_peak_bytes / authors_peak_bytes
    return dict(
        ours_step_s=ours_step_s, authors_step_s=authors_step_s,
        ours_steps_per_s=1.0 / ours_step_s, authors_steps_per_s=1.0 / authors_step_s,
        throughput_ratio=throughput,
        ours_peak_bytes=ours_peak_bytes, authors_peak_bytes=authors_peak_bytes,
        memory_ratio=memory,
        goals=dict(
            throughput=dict(target=f">= {goals['throughput']:g}x",
                            met=throughput >= goals['throughput']),
            memory=dict(target=f"<= {goals['memory']:g}x", met=memory <= goals['memory'])),
        conclusive=cityscapes_setting)


def format_table(summary: Dict[str, object], memory_kind: str) -> str:
    """The driver's table for a :func:`compare` result."""
    gib = 2.0**30
    goals = summary['goals']

    def verdict(goal):
        return 'met' if goal['met'] else 'not met'

    lines = [
        f"{'':22s}{'ours':>12s}{'authors':>12s}{'ours/authors':>15s}  goal",
        f"{'median step (s)':22s}{summary['ours_step_s']:12.3f}{summary['authors_step_s']:12.3f}"
        f"{summary['ours_step_s'] / summary['authors_step_s']:15.2f}",
        f"{'throughput (steps/s)':22s}{summary['ours_steps_per_s']:12.3f}"
        f"{summary['authors_steps_per_s']:12.3f}{summary['throughput_ratio']:15.2f}  "
        f"{goals['throughput']['target']}: {verdict(goals['throughput'])}",
        f"{'peak memory (GiB)':22s}{summary['ours_peak_bytes'] / gib:12.3f}"
        f"{summary['authors_peak_bytes'] / gib:12.3f}{summary['memory_ratio']:15.2f}  "
        f"{goals['memory']['target']}: {verdict(goals['memory'])}",
        f'peak memory: {memory_kind}',
    ]
    host = [summary.get(f'{s}_host_rss_delta_bytes') for s in SIDES]
    peaks = [summary['ours_peak_bytes'], summary['authors_peak_bytes']]
    if None not in host and host != peaks:
        lines.insert(-1, f"{'host RSS increase (GiB)':22s}{host[0] / gib:12.3f}"
                     f'{host[1] / gib:12.3f}{host[0] / host[1]:15.2f}')
    if not summary['conclusive']:
        lines.append('goals stated for 769 x 769, 2 + 2 per GPU on a GPU: this run is not '
                     'that setting, its verdicts are indicative only')
    return '\n'.join(lines)


def summarize_runs(runs: Dict[str, List[dict]], crop: Sequence[int], labeled: int,
                   unlabeled: int, device: str) -> Dict[str, object]:
    """Pool the children's results of each side: median of all timed steps,
    the largest peak memory of its rounds; then :func:`compare`."""
    step = {s: statistics.median(t for r in runs[s] for t in r['step_times_s']) for s in SIDES}
    peak = {s: max(r['peak_memory_bytes'] for r in runs[s]) for s in SIDES}
    out = compare(step['ours'], step['authors'], peak['ours'], peak['authors'],
                  is_cityscapes_setting(crop, labeled, unlabeled, device))
    for s in SIDES:
        floors = [t for r in runs[s] for t in r.get('floor_times_s') or []]
        if floors:
            out[f'{s}_floor_s'] = statistics.median(floors)
            out[f'{s}_step_over_floor'] = step[s] / out[f'{s}_floor_s']
        out[f'{s}_host_rss_delta_bytes'] = max(r['host_rss_delta_bytes'] for r in runs[s])
    return out


# -- measurement helpers (both sides) ----------------------------------------
def seed_everything(seed: int = 0) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def generated_batch(n_l: int, n_u: int, H: int, W: int, num_classes: int,
                    device: str) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch of ``step_profile.make_batch`` as plain tensors: the same
    generator calls in the same order, then what our data preprocessor does
    (BGR -> RGB, ImageNet mean / std). Returns normalised labeled images
    (n_l, 3, H, W), their labels (n_l, H, W) and unlabeled images."""
    g = torch.Generator().manual_seed(0)
    images, labels = [], []
    for i in range(n_l + n_u):
        images.append(torch.rand(3, H, W, generator=g) * 255)
        if i < n_l:
            labels.append(torch.randint(0, num_classes, (1, H, W), generator=g)[0])
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    x = torch.stack([(img[[2, 1, 0]] - mean) / std for img in images]).to(device)
    return x[:n_l], torch.stack(labels).long().to(device), x[n_l:]


def confident_classifier(conv: torch.nn.Conv2d, logit_std: float) -> None:
    """Re-initialise a classifier convolution so that its logits have a
    standard deviation of about ``logit_std`` on unit-variance features:
    weights ~ N(0, logit_std^2 / fan_in), bias 0. A randomly initialised
    network is otherwise so unsure (max probability ~ 1/19) that no pixel
    passes U2PL's delta_p = 0.3 and L_c's sampling never runs."""
    fan_in = conv.weight[0].numel()
    with torch.no_grad():
        conv.weight.normal_(0.0, logit_std / fan_in**0.5)
        if conv.bias is not None:
            conv.bias.zero_()


def calibrate_bn(net: torch.nn.Module, forward: Callable[[], object]) -> None:
    """Set the running statistics of every BN layer of ``net`` to the
    statistics of one training-mode ``forward()`` (momentum 1), as a trained
    network's match its inputs. Fresh ones (mean 0, variance 1) leave an
    eval-mode teacher nearly constant on these inputs."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    was_training = net.training
    net.train()
    try:
        for m in bns:
            m.momentum = 1.0
        with torch.no_grad():
            forward()
    finally:
        for m, momentum in zip(bns, saved):
            m.momentum = momentum
        net.train(was_training)


def conv_gmacs(net: torch.nn.Module, forward: Callable[[], object]) -> float:
    """Multiply-accumulates (1e9) of the convolutions of ``net`` in one
    ``forward()`` (eval mode, no grad; the BN statistics are left alone)."""
    total = [0]

    def hook(module, inputs, output):
        total[0] += output.numel() * module.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, torch.nn.Conv2d)]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    return total[0] / 1e9


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timed_steps(step: Callable[[], Dict[str, float]], warmup: int, iters: int,
                device: str) -> Tuple[List[float], Dict[str, float]]:
    """Run ``warmup`` then ``iters`` steps; the timed steps' seconds (host
    synchronised on CUDA) and the losses of the first step. The CUDA peak
    memory counter is reset after the warm-up."""
    times, first = [], None
    for it in range(warmup + iters):
        if it == warmup and device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        sync(device)
        t0 = time.perf_counter()
        losses = step()
        sync(device)
        if it >= warmup:
            times.append(time.perf_counter() - t0)
        if first is None:
            first = losses
    return times, first


# -- the authors' side -----------------------------------------------------
@contextlib.contextmanager
def cuda_as_noop(enabled: bool) -> Iterator[None]:
    """Make ``Tensor.cuda()`` and ``Module.cuda()`` return their receiver
    unchanged (their code calls ``.cuda()`` everywhere); restored on exit."""
    if not enabled:
        yield
        return
    tensor_cuda, module_cuda = torch.Tensor.cuda, torch.nn.Module.cuda

    def keep(self, *args, **kwargs):
        return self

    torch.Tensor.cuda = keep
    torch.nn.Module.cuda = keep
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.nn.Module.cuda = tensor_cuda, module_cuda


def init_single_process_group(device: str) -> None:
    """A 1-process group on this host for their collectives."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    if device.startswith('cuda'):
        torch.cuda.set_device(0)
    dist.init_process_group('nccl' if device.startswith('cuda') else 'gloo',
                            init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)


def import_authors(repo: str) -> Tuple[types.SimpleNamespace, bool]:
    """Their modules, imported from the clone. scikit-image, which their
    ``u2pl/utils/utils.py`` imports for two box helpers that the step never
    calls, is replaced by a placeholder module when it is not installed
    (calling it raises); the second value says whether that happened."""
    placeholder = False
    try:
        import skimage.measure  # noqa: F401
    except ImportError:
        placeholder = True

        def missing(*args, **kwargs):
            raise ImportError('scikit-image is not installed (authors_side_by_side.py put a '
                              'placeholder in its place)')
        pkg, measure = types.ModuleType('skimage'), types.ModuleType('skimage.measure')
        measure.label = measure.regionprops = missing
        pkg.measure = measure
        sys.modules['skimage'], sys.modules['skimage.measure'] = pkg, measure
    if repo not in sys.path:
        sys.path.insert(0, repo)
    mods = types.SimpleNamespace(
        model_helper=importlib.import_module('u2pl.models.model_helper'),
        loss_helper=importlib.import_module('u2pl.utils.loss_helper'),
        utils=importlib.import_module('u2pl.utils.utils'),
        lr_helper=importlib.import_module('u2pl.utils.lr_helper'),
        augmentation=importlib.import_module('u2pl.dataset.augmentation'))
    loaded = osp.realpath(mods.loss_helper.__file__)
    if not loaded.startswith(osp.realpath(repo) + os.sep):
        raise ImportError(f"their u2pl package came from {loaded}, not from {repo}: another "
                          "'u2pl' package shadows it")
    return mods, placeholder


def authors_config(repo: str) -> dict:
    """Their Cityscapes config, with what a CPU / 1-process run and random
    weights need: plain BN (at world size 1 PyTorch's SyncBatchNorm runs the
    BN kernel anyway; on CPU it cannot run) and no ImageNet weights."""
    import yaml
    with open(osp.join(repo, AUTHORS_CONFIG)) as f:
        cfg = yaml.load(f, Loader=yaml.Loader)
    cfg['net']['sync_bn'] = False
    cfg['net']['encoder']['kwargs']['pretrained'] = False
    if cfg['net']['num_classes'] != NUM_CLASSES:
        raise ValueError(f"their Cityscapes config has {cfg['net']['num_classes']} classes")
    return cfg


class AuthorsSide:
    """Their networks, criterion, optimizer, scheduler and memory bank, built
    as in their ``train_semi.py`` ``main()``, and their step (:meth:`step`)."""

    def __init__(self, mods: types.SimpleNamespace, args: argparse.Namespace):
        self.device = args.device
        self.mods = mods
        cfg = self.cfg = authors_config(args.authors_repo)
        ModelBuilder = self.mods.model_helper.ModelBuilder
        lr_helper = self.mods.lr_helper
        # main(): student, its parameter groups, criterion, optimizer
        model = ModelBuilder(cfg['net'])
        modules_back = [model.encoder]
        if cfg['net'].get('aux_loss', False):
            modules_head = [model.auxor, model.decoder]
        else:
            modules_head = [model.decoder]
        model.cuda()
        self.sup_loss_fn = self.mods.loss_helper.get_criterion(cfg)
        cfg_trainer = cfg['trainer']
        cfg_optim = cfg_trainer['optimizer']
        times = 10 if 'pascal' in cfg['dataset']['type'] else 1
        params_list = []
        for module in modules_back:
            params_list.append(dict(params=module.parameters(), lr=cfg_optim['kwargs']['lr']))
        for module in modules_head:
            params_list.append(
                dict(params=module.parameters(), lr=cfg_optim['kwargs']['lr'] * times))
        self.optimizer = lr_helper.get_optimizer(params_list, cfg_optim)
        # the teacher
        model_teacher = ModelBuilder(cfg['net']).cuda()
        for p in model_teacher.parameters():
            p.requires_grad = False
        # trained-like confidence, and the teacher starts as the student (what
        # their first semi-supervised epoch does)
        confident_classifier(model.decoder.classifier[-1], args.logit_std)
        self.image_l, self.label_l, self.image_u = generated_batch(
            args.labeled, args.unlabeled, args.crop[0], args.crop[1], NUM_CLASSES,
            next(model.parameters()).device)
        calibrate_bn(model, lambda: model(torch.cat((self.image_l, self.image_u))))
        model_teacher.load_state_dict(model.state_dict())
        optimizer_start = lr_helper.get_optimizer(params_list, cfg_optim)
        self.lr_scheduler = lr_helper.get_scheduler(cfg_trainer, ITERS_PER_EPOCH,
                                                    optimizer_start, start_epoch=EPOCH)
        # class-wise memory bank
        self.memobank, self.queue_ptrlis, self.queue_size = [], [], []
        for i in range(cfg['net']['num_classes']):
            self.memobank.append([torch.zeros(0, 256)])
            self.queue_size.append(30000)
            self.queue_ptrlis.append(torch.zeros(1, dtype=torch.long))
        self.queue_size[0] = 50000
        if args.bank == 'full':
            for i in range(cfg['net']['num_classes']):
                self.memobank[i][0] = torch.randn(self.queue_size[i], 256)
                self.queue_ptrlis[i][0] = self.queue_size[i]
        self.model, self.model_teacher = model.to(self.device), model_teacher.to(self.device)
        self.model.train()
        self.meters = [self.mods.utils.AverageMeter(10) for _ in range(3)]
        self.i_iter = EPOCH * ITERS_PER_EPOCH

    def params(self) -> Dict[str, int]:
        m = self.model
        rep = count_params(m.decoder.representation) if m.decoder.rep_head else 0
        return dict(total=count_params(m), backbone=count_params(m.encoder),
                    decoder=count_params(m.decoder) - rep, auxiliary_head=count_params(m.auxor),
                    representation_head=rep)

    def student_gmacs(self) -> float:
        x_all = torch.cat((self.image_l, self.image_u))
        return conv_gmacs(self.model, lambda: self.model(x_all))

    def step(self) -> Dict[str, float]:
        """One iteration of the loop in their ``train()``, branch ``epoch >=
        sup_only_epoch`` (not the epoch that copies the student into the
        teacher), contrastive loss on: their calls in their order."""
        import torch.distributed as dist
        import torch.nn.functional as F
        cfg, model, model_teacher = self.cfg, self.model, self.model_teacher
        generate_unsup_data = self.mods.augmentation.generate_unsup_data
        loss_helper, label_onehot = self.mods.loss_helper, self.mods.utils.label_onehot
        epoch, i_iter = EPOCH, self.i_iter
        world_size = dist.get_world_size()
        ema_decay_origin = cfg['net']['ema_decay']

        lr = self.lr_scheduler.get_lr()
        self.lr_scheduler.step()
        del lr
        image_l, label_l = self.image_l, self.label_l
        batch_size, h, w = label_l.size()
        image_l, label_l = image_l.cuda(), label_l.cuda()
        image_u = self.image_u.cuda()

        # generate pseudo labels first
        model_teacher.eval()
        pred_u_teacher = model_teacher(image_u)['pred']
        pred_u_teacher = F.interpolate(pred_u_teacher, (h, w), mode='bilinear',
                                       align_corners=True)
        pred_u_teacher = F.softmax(pred_u_teacher, dim=1)
        logits_u_aug, label_u_aug = torch.max(pred_u_teacher, dim=1)

        # apply strong data augmentation: cutout, cutmix, or classmix
        if np.random.uniform(0, 1) < 0.5 and cfg['trainer']['unsupervised'].get(
                'apply_aug', False):
            image_u_aug, label_u_aug, logits_u_aug = generate_unsup_data(
                image_u, label_u_aug.clone(), logits_u_aug.clone(),
                mode=cfg['trainer']['unsupervised']['apply_aug'])
        else:
            image_u_aug = image_u

        # forward
        num_labeled = len(image_l)
        image_all = torch.cat((image_l, image_u_aug))
        outs = model(image_all)
        pred_all, rep_all = outs['pred'], outs['rep']
        pred_l, pred_u = pred_all[:num_labeled], pred_all[num_labeled:]
        pred_l_large = F.interpolate(pred_l, size=(h, w), mode='bilinear', align_corners=True)
        pred_u_large = F.interpolate(pred_u, size=(h, w), mode='bilinear', align_corners=True)

        # supervised loss
        if 'aux_loss' in cfg['net'].keys():
            aux = outs['aux'][:num_labeled]
            aux = F.interpolate(aux, (h, w), mode='bilinear', align_corners=True)
            sup_loss = self.sup_loss_fn([pred_l_large, aux], label_l.clone())
        else:
            sup_loss = self.sup_loss_fn(pred_l_large, label_l.clone())

        # teacher forward
        model_teacher.train()
        with torch.no_grad():
            out_t = model_teacher(image_all)
            pred_all_teacher, rep_all_teacher = out_t['pred'], out_t['rep']
            prob_all_teacher = F.softmax(pred_all_teacher, dim=1)
            prob_l_teacher, prob_u_teacher = (prob_all_teacher[:num_labeled],
                                              prob_all_teacher[num_labeled:])
            pred_u_teacher = pred_all_teacher[num_labeled:]
            pred_u_large_teacher = F.interpolate(pred_u_teacher, size=(h, w), mode='bilinear',
                                                 align_corners=True)

        # unsupervised loss
        drop_percent = cfg['trainer']['unsupervised'].get('drop_percent', 100)
        percent_unreliable = (100 - drop_percent) * (1 - epoch / cfg['trainer']['epochs'])
        drop_percent = 100 - percent_unreliable
        unsup_loss = loss_helper.compute_unsupervised_loss(
            pred_u_large, label_u_aug.clone(), drop_percent,
            pred_u_large_teacher.detach()) * cfg['trainer']['unsupervised'].get('loss_weight', 1)

        # contrastive loss using unreliable pseudo labels
        cfg_contra = cfg['trainer']['contrastive']
        alpha_t = cfg_contra['low_entropy_threshold'] * (1 - epoch / cfg['trainer']['epochs'])
        with torch.no_grad():
            prob = torch.softmax(pred_u_large_teacher, dim=1)
            entropy = -torch.sum(prob * torch.log(prob + 1e-10), dim=1)
            low_thresh = np.percentile(entropy[label_u_aug != 255].cpu().numpy().flatten(),
                                       alpha_t)
            low_entropy_mask = entropy.le(low_thresh).float() * (label_u_aug != 255).bool()
            high_thresh = np.percentile(entropy[label_u_aug != 255].cpu().numpy().flatten(),
                                        100 - alpha_t)
            high_entropy_mask = entropy.ge(high_thresh).float() * (label_u_aug != 255).bool()
            low_mask_all = torch.cat(((label_l.unsqueeze(1) != 255).float(),
                                      low_entropy_mask.unsqueeze(1)))
            low_mask_all = F.interpolate(low_mask_all, size=pred_all.shape[2:], mode='nearest')
            # their config: negative_high_entropy: True
            high_mask_all = torch.cat(((label_l.unsqueeze(1) != 255).float(),
                                       high_entropy_mask.unsqueeze(1)))
            high_mask_all = F.interpolate(high_mask_all, size=pred_all.shape[2:],
                                          mode='nearest')
            label_l_small = F.interpolate(label_onehot(label_l, cfg['net']['num_classes']),
                                          size=pred_all.shape[2:], mode='nearest')
            label_u_small = F.interpolate(label_onehot(label_u_aug, cfg['net']['num_classes']),
                                          size=pred_all.shape[2:], mode='nearest')
        # their config: no binary, no anchor_ema
        new_keys, contra_loss = loss_helper.compute_contra_memobank_loss(
            rep_all, label_l_small.long(), label_u_small.long(), prob_l_teacher.detach(),
            prob_u_teacher.detach(), low_mask_all, high_mask_all, cfg_contra, self.memobank,
            self.queue_ptrlis, self.queue_size, rep_all_teacher.detach())
        dist.all_reduce(contra_loss)
        contra_loss = contra_loss / world_size * cfg['trainer']['contrastive'].get(
            'loss_weight', 1)

        loss = sup_loss + unsup_loss + contra_loss
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

        # update teacher model with EMA
        with torch.no_grad():
            ema_decay = min(
                1 - 1 / (i_iter - ITERS_PER_EPOCH * cfg['trainer'].get('sup_only_epoch', 1) + 1),
                ema_decay_origin)
            for t_params, s_params in zip(model_teacher.parameters(), model.parameters()):
                t_params.data = ema_decay * t_params.data + (1 - ema_decay) * s_params.data

        # gather all loss from different gpus
        values = []
        for meter, value in zip(self.meters, (sup_loss, unsup_loss, contra_loss)):
            reduced = value.clone().detach()
            dist.all_reduce(reduced)
            meter.update(reduced.item())
            values.append(meter.val)
        self.i_iter += 1
        return dict(sup_loss=values[0], unsup_loss=values[1], contra_loss=values[2])

    def floor(self) -> None:
        """Their network passes alone on the same tensors: teacher (eval) on
        the unlabeled images, student forward + backward on the batch,
        teacher (train, no grad) on the batch."""
        x_all = torch.cat((self.image_l, self.image_u))
        self.model_teacher.eval()
        with torch.no_grad():
            self.model_teacher(self.image_u)
        outs = self.model(x_all)
        sum(v.float().mean() for v in outs.values()).backward()
        self.model_teacher.train()
        with torch.no_grad():
            self.model_teacher(x_all)
        self.optimizer.zero_grad(set_to_none=True)


# -- our side ----------------------------------------------------------------
def edit_our_config(crop: Sequence[int], labeled: int, unlabeled: int,
                    network: str) -> Callable:
    """``step_profile.build``'s ``edit_cfg``: every ``RandomCrop`` of the
    training pipelines to ``crop``, the per-GPU batch to ``labeled`` +
    ``unlabeled``, and (``network='matched'``) the backbone to theirs."""
    from step_profile import set_random_crops

    def edit(cfg) -> None:
        set_random_crops(cfg.train_dataloader.dataset, tuple(crop))
        sampler = cfg.train_dataloader.sampler
        sampler.labeled_per_batch, sampler.unlabeled_per_batch = labeled, unlabeled
        cfg.train_dataloader.batch_size = labeled + unlabeled
        seg = cfg.model.get('segmentor', cfg.model)
        if seg.decode_head.num_classes != NUM_CLASSES:
            raise ValueError(f'{OUR_CONFIG} has {seg.decode_head.num_classes} classes')
        if network == 'matched':
            seg.backbone.update(MATCHED_BACKBONE)

    return edit


class OurSide:
    """Our U2PL segmentor from :data:`OUR_CONFIG` and the iteration a Runner
    runs (``step_profile``'s step)."""

    def __init__(self, args: argparse.Namespace):
        from step_profile import build, make_batch
        from mmseg_u2pl.utils import SemiSchedule, publish_semi_schedule
        self.device = args.device
        edit = edit_our_config(args.crop, args.labeled, args.unlabeled, args.network)
        cfg, self.model, self.optim_wrapper, self.ema = build(OUR_CONFIG, args.device, args.amp,
                                                              edit_cfg=edit)
        publish_semi_schedule(SemiSchedule(iteration=EPOCH * ITERS_PER_EPOCH,
                                           iters_per_epoch=float(ITERS_PER_EPOCH),
                                           total_epochs=float(TOTAL_EPOCHS), semi_start_iter=0))
        seg = self.model
        self.data = make_batch(cfg, seg, args.device)
        self.num_labeled = args.labeled
        confident_classifier(seg.student.decode_head.conv_seg, args.logit_std)
        calibrate_bn(seg.student, self.student_forward)
        seg.teacher.load_state_dict(seg.student.state_dict())  # what init_weights does
        bank = seg.memory_bank
        if args.bank == 'full' and bank is not None:
            with torch.no_grad():
                for c in range(bank.num_classes):
                    bank.queue[c, :int(bank.capacity[c])].normal_()
                bank.count.copy_(bank.capacity)
                bank.ptr.zero_()

    def params(self) -> Dict[str, int]:
        s = self.model.student
        return dict(total=count_params(s), backbone=count_params(s.backbone),
                    decoder=count_params(s.decode_head),
                    auxiliary_head=count_params(s.auxiliary_head),
                    representation_head=count_params(s.contrastive_head))

    def student_gmacs(self) -> float:
        return conv_gmacs(self.model.student, self.student_forward)

    def step(self) -> Dict[str, float]:
        model, optim_wrapper = self.model, self.optim_wrapper
        with optim_wrapper.optim_context(model):
            losses = model.loss(self.data['inputs'], self.data['data_samples'])
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optim_wrapper.backward(loss)
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        self.ema.momentum_update(model, self.ema.decay)
        return {k: float(v) for k, v in losses.items() if 'loss' in k}

    def student_forward(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The student's passes of a step: decode head, auxiliary head on the
        labeled images, representation head."""
        seg, x, n_l = self.model, self.data['inputs'], self.num_labeled
        feats, logits, dec = seg.decode(seg.student, x)
        aux = seg.student.auxiliary_head([f[:n_l] for f in feats])
        return logits, aux, seg.student.contrastive_head(dec)

    def floor(self) -> None:
        """Our network passes alone on the same tensors: teacher on the
        unlabeled images, student forward (decode, auxiliary head on the
        labeled images, representation head) + backward, teacher decode +
        representation head on the batch."""
        seg, x, n_l = self.model, self.data['inputs'], self.num_labeled
        seg.teacher.eval()
        with self.optim_wrapper.optim_context(seg):  # autocast under --amp, as the step
            with torch.no_grad():
                seg.decode(seg.teacher, x[n_l:])
            loss = sum(t.float().mean() for t in self.student_forward())
            with torch.no_grad():
                _, _, dec_t = seg.decode(seg.teacher, x)
                seg.teacher.contrastive_head(dec_t)
        loss.backward()
        seg.zero_grad(set_to_none=True)


# -- one side in this process ------------------------------------------------
def run_side(args: argparse.Namespace) -> Dict[str, object]:
    """Build one side, time its steps (and floor), measure its peak memory."""
    cuda = args.device.startswith('cuda')
    if cuda:
        torch.backends.cudnn.benchmark = True
    seed_everything(0)
    extra: Dict[str, object] = {}
    if args.side == 'authors':
        init_single_process_group(args.device)
        mods, extra['skimage_placeholder'] = import_authors(args.authors_repo)
        def context():
            return cuda_as_noop(not cuda)
        rss0 = peak_rss_bytes()  # after the imports
        with context():
            side = AuthorsSide(mods, args)
    else:
        import mmseg_u2pl  # noqa: F401
        from step_profile import build  # noqa: F401
        from mmseg.models import EncoderDecoder  # noqa: F401
        context = contextlib.nullcontext
        rss0 = peak_rss_bytes()  # after the imports
        side = OurSide(args)
    with context():
        times, losses = timed_steps(side.step, args.warmup, args.iters, args.device)
        peak_dev = torch.cuda.max_memory_allocated() if cuda else None
        host = peak_rss_bytes() - rss0
        floor = (timed_steps(lambda: side.floor() or {}, args.warmup, args.iters,
                             args.device)[0] if args.floor else None)
        gmacs = side.student_gmacs()
    bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
    if bad:
        raise FloatingPointError(f'{args.side}: non-finite losses in the first step: {bad}')
    return dict(side=args.side, device=args.device,
                device_name=(torch.cuda.get_device_name(0) if cuda else 'cpu'),
                threads=torch.get_num_threads(), crop=list(args.crop), labeled=args.labeled,
                unlabeled=args.unlabeled, warmup=args.warmup, iters=args.iters,
                step_times_s=times, median_step_s=statistics.median(times),
                floor_times_s=floor, median_floor_s=(statistics.median(floor) if floor else None),
                peak_memory_bytes=(peak_dev if cuda else host),
                host_rss_delta_bytes=host, first_step_losses=losses, params=side.params(),
                student_gmacs=gmacs,
                **extra)


# -- the driver ----------------------------------------------------------------
def child_command(side: str, args: argparse.Namespace) -> List[str]:
    cmd = [sys.executable, osp.abspath(__file__), '--side', side,
           '--authors-repo', args.authors_repo, '--device', args.device,
           '--crop', str(args.crop[0]), str(args.crop[1]), '--labeled', str(args.labeled),
           '--unlabeled', str(args.unlabeled), '--iters', str(args.iters),
           '--warmup', str(args.warmup), '--network', args.network, '--bank', args.bank,
           '--logit-std', str(args.logit_std), '--floor' if args.floor else '--no-floor',
           '--amp', args.amp]
    return cmd


def run_child(side: str, args: argparse.Namespace, verbose: bool) -> Dict[str, object]:
    proc = subprocess.run(child_command(side, args), capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    found = [ln for ln in lines if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f'the {side} child failed (exit {proc.returncode}):\n'
                           f'{(proc.stdout + proc.stderr)[-4000:]}')
    result = json.loads(found[-1][len(RESULT_TAG):])
    if verbose:
        losses = ', '.join(f'{k} {v:.4f}' for k, v in result['first_step_losses'].items())
        print(f'  [{side}] first step losses: {losses}')
    return result


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, object]:
    args = parse_args(argv)
    if args.side is not None:
        result = run_side(args)
        print(RESULT_TAG + json.dumps(result), flush=True)
        return result
    identity = authors_identity(args.authors_repo, args.authors_commit)
    cuda = args.device.startswith('cuda')
    memory_kind = ('torch.cuda.max_memory_allocated over the timed steps' if cuda else
                   "the child's peak RSS (ru_maxrss) minus its RSS before building the networks")
    print(f"[side_by_side] theirs: {args.authors_repo} @ {identity['commit']}; ours: "
          f"{osp.relpath(OUR_CONFIG, ROOT)} (network: {args.network}, amp: {args.amp}); "
          f"{args.device}, crop "
          f"{args.crop[0]}x{args.crop[1]}, {args.labeled} + {args.unlabeled} per GPU, bank "
          f"{args.bank}, {args.rounds} rounds x ({args.warmup} + {args.iters}) steps")
    load_avg = [os.getloadavg()[0]]
    runs: Dict[str, List[dict]] = {s: [] for s in SIDES}
    for r in range(args.rounds):
        for side in SIDES:  # ours, theirs, ours, theirs...
            res = run_child(side, args, verbose=(r == 0))
            runs[side].append(res)
            print(f"  round {r + 1} {side:8s} median step {res['median_step_s']:.3f} s, "
                  f"peak {res['peak_memory_bytes'] / 2**30:.3f} GiB")
    load_avg.append(os.getloadavg()[0])  # the host's load, at the start and at the end
    summary = summarize_runs(runs, args.crop, args.labeled, args.unlabeled, args.device)
    params = {s: runs[s][0]['params'] for s in SIDES}
    gmacs = {s: runs[s][0]['student_gmacs'] for s in SIDES}
    print(f"student parameters (M) and conv GMACs of its passes in a step:\n"
          f"  {'':8s}" + ''.join(f'{k:>20s}' for k in params['ours']) + f"{'GMACs':>10s}")
    for s in SIDES:
        print(f'  {s:8s}' + ''.join(f'{v / 1e6:20.2f}' for v in params[s].values())
              + f'{gmacs[s]:10.1f}')
    if args.floor:
        print(f"network passes alone: ours {summary['ours_floor_s']:.3f} s, theirs "
              f"{summary['authors_floor_s']:.3f} s; step / floor: ours "
              f"{summary['ours_step_over_floor']:.2f}, theirs "
              f"{summary['authors_step_over_floor']:.2f}")
    print(format_table(summary, memory_kind))
    report = dict(
        command='python tools/benchmark/authors_side_by_side.py ' + ' '.join(
            a for a in (argv if argv is not None else sys.argv[1:])),
        authors=dict(repo=args.authors_repo, **identity), ours=dict(config=osp.relpath(
            OUR_CONFIG, ROOT), network=args.network, amp=args.amp,
            backbone_options=(MATCHED_BACKBONE if args.network == 'matched' else {})),
        device=args.device, device_name=runs['ours'][0]['device_name'],
        torch=torch.__version__, threads=runs['ours'][0]['threads'], crop=list(args.crop),
        labeled=args.labeled, unlabeled=args.unlabeled, iters=args.iters, warmup=args.warmup,
        rounds=args.rounds, bank=args.bank, logit_std=args.logit_std, floor=args.floor,
        memory_kind=memory_kind, niceness=os.nice(0), load_avg_1min=load_avg,
        schedule=dict(epoch=EPOCH, iters_per_epoch=ITERS_PER_EPOCH, total_epochs=TOTAL_EPOCHS),
        params=params, student_gmacs=gmacs, summary=summary, runs=runs)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    main()
