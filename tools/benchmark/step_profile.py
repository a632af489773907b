# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Profile one semi-supervised training step, part by part, on generated data.

    python tools/benchmark/step_profile.py CONFIG [--device cuda] [--amp bf16|fp16]
        [--iters 30] [--warmup 5] [--crop H W] [--json OUT]

Times (synchronised on CUDA) the parts of a step of CONFIG's method at its
real crop and per-GPU batch: teacher prediction, mixing, pseudo-labelling,
student forward, the losses (U2PL's L_c sampling and bank inside the extra
losses), backward, optimizer step and the EMA update. The step's *floor* is
the cost of its network passes alone (teacher forward on the unlabeled
images, student forward + backward on the batch with its auxiliary head on
the labeled images, and, where the method has L_c, the teacher's forward
and both networks' projection g), measured on the same tensors; the report
gives step / floor, the memory bank's push + sample share of the step,
the peak memory (CUDA: ``torch.cuda.max_memory_allocated``; CPU: the
process's peak resident set during the steps minus the one before the model
was built) and whether the step synchronised with the host (CUDA:
``torch.cuda.set_sync_debug_mode``). ``--crop H W`` replaces the config's
crop (e.g. a smaller one on CPU). ``--amp bf16`` also runs on CPU (bf16
autocast, MMEngine's ``AmpOptimWrapper`` with its accelerator check lifted
for this measurement; fp16 needs CUDA). ``--dry-run`` runs 2 iterations of a
tiny synthetic config on CPU (CI).
"""
import argparse
import contextlib
import json
import os.path as osp
import resource
import sys
import time
import warnings
from collections import defaultdict

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
PARTS = ('teacher_predict', 'mix', 'pseudo_label', 'mix_labeled', 'student_predict',
         'labeled_losses', 'unsupervised_loss', 'extra_losses')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', nargs='?',
                   default=osp.join(ROOT, 'configs/u2pl/u2pl_r101_cityscapes_1-16.py'))
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default='none')
    p.add_argument('--iters', type=int, default=30)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                   help="train crop instead of the config's (e.g. a smaller one on CPU)")
    p.add_argument('--json', help='write the measurements here')
    p.add_argument('--dry-run', action='store_true',
                   help='2 iterations of the tiny synthetic U2PL config on CPU')
    args = p.parse_args(argv)
    if args.amp == 'fp16' and not args.device.startswith('cuda'):
        p.error('--amp fp16 needs --device cuda (fp16 autocast with loss scaling is a GPU '
                'mode; on CPU use --amp bf16)')
    return args


def peak_rss_bytes() -> int:
    """The process's peak resident set so far (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss() -> bool:
    """Restart the peak resident set (Linux ``VmHWM``) from the current one,
    so that a peak measured later is not an earlier one (e.g. of the
    imports); False where the kernel does not allow it."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def rss_bytes(peak: bool = False) -> int:
    """The current (or, with ``peak``, the peak since :func:`reset_peak_rss`)
    resident set; ``ru_maxrss`` where ``/proc`` has no ``VmHWM``."""
    try:
        return _status_kib('VmHWM' if peak else 'VmRSS') * 1024
    except (OSError, KeyError):
        return peak_rss_bytes()


def allow_amp_on_cpu() -> None:
    """Let MMEngine's ``AmpOptimWrapper`` be built without an accelerator, for
    measuring bf16 on CPU: it refuses to (``is_cuda_available``), although torch
    autocasts to bf16 on CPU and its ``GradScaler`` disables itself there (bf16
    needs no loss scaling). Training itself keeps MMEngine's check."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_wrapper
    amp_wrapper.is_cuda_available = lambda: True


class Timer:
    def __init__(self, device):
        self.device, self.times, self.active = device, defaultdict(list), True

    def sync(self):
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()

    @contextlib.contextmanager
    def part(self, name):
        self.sync()
        t0 = time.perf_counter()
        yield
        self.sync()
        if self.active:
            self.times[name].append(time.perf_counter() - t0)


def set_random_crops(node, crop) -> None:
    """Every ``RandomCrop`` of the training pipelines crops to ``crop``."""
    if isinstance(node, dict):
        if node.get('type') == 'RandomCrop':
            node['crop_size'] = crop
        for value in node.values():
            set_random_crops(value, crop)
    elif isinstance(node, (list, tuple)):
        for value in node:
            set_random_crops(value, crop)


def build(cfg_path, device, amp, edit_cfg=None):
    """CONFIG's model (random weights, plain BN), optimizer wrapper and EMA
    hook; ``edit_cfg(cfg)``, if given, edits the loaded config in place first
    (e.g. the crop or the per-GPU batch of ``tools/benchmark/authors_side_by_side.py``)."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    import mmseg_u2pl  # noqa: F401
    from mmseg.registry import HOOKS, MODELS
    from mmseg_u2pl.engine import set_crop_size, train_crop_size
    init_default_scope('mmseg')
    cfg = Config.fromfile(cfg_path)
    if edit_cfg is not None:
        edit_cfg(cfg)
    seg = cfg.model.get('segmentor', cfg.model)
    seg.pretrained = None  # generated data, random weights: no download
    if isinstance(seg.backbone.get('init_cfg'), dict):
        seg.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).to(device).train()
    set_crop_size(model, train_crop_size(cfg))  # what CropSizeHook does in a Runner
    optim = dict(cfg.optim_wrapper)
    if amp != 'none' and not str(device).startswith('cuda'):
        allow_amp_on_cpu()
    if amp != 'none':
        optim.update(type='AmpOptimWrapper', loss_scale='dynamic',
                     dtype='bfloat16' if amp == 'bf16' else 'float16')
    optim_wrapper = build_optim_wrapper(model, optim)
    ema = [HOOKS.build(dict(h)) for h in cfg.get('custom_hooks', [])
           if h['type'] == 'MeanTeacherHook']
    return cfg, model, optim_wrapper, (ema[0] if ema else None)


def make_batch(cfg, model, device):
    from mmengine.structures import PixelData
    from mmseg_u2pl.engine import train_crop_size
    from mmseg.structures import SegDataSample
    sampler = cfg.train_dataloader.sampler
    n_l, n_u = sampler.labeled_per_batch, sampler.unlabeled_per_batch
    H, W = train_crop_size(cfg)
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(n_l + n_u):
        inputs.append((torch.rand(3, H, W, generator=g) * 255).to(device))
        ds = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W)))
        if i < n_l:
            ds.gt_sem_seg = PixelData(data=torch.randint(
                0, model.num_classes, (1, H, W), generator=g).to(device))
        samples.append(ds)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        args.config = osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py')
        args.device, args.iters, args.warmup = 'cpu', 2, 1
    from mmseg_u2pl.utils import SemiSchedule, publish_semi_schedule
    edit = None
    if args.crop:
        def edit(cfg, crop=tuple(args.crop)):
            set_random_crops(cfg.train_dataloader.dataset, crop)
    if not reset_peak_rss():  # the imports' peak must not hide the step's
        print('[step_profile] cannot restart the peak resident set (/proc/self/clear_refs): '
              'the host peak below may be an earlier one (e.g. of the imports)', file=sys.stderr)
    rss0 = rss_bytes()  # after the imports, before the model
    cfg, model, optim_wrapper, ema = build(args.config, args.device, args.amp, edit)
    publish_semi_schedule(SemiSchedule(iteration=1000, iters_per_epoch=100.0,
                                       total_epochs=200.0, semi_start_iter=0))
    data = make_batch(cfg, model, args.device)
    timer = Timer(args.device)
    autocast_seen = set()  # was autocast on while the student predicted?
    device_type = torch.device(args.device).type
    for name in PARTS:  # time each template step
        fn = getattr(model, name)

        def timed(step, fn=fn, name=name):
            if name == 'student_predict':
                autocast_seen.add(torch.is_autocast_enabled(device_type))
            with timer.part(name):
                return fn(step)
        setattr(model, name, timed)
    bank = getattr(model, 'memory_bank', None)
    for name in ('push', 'sample'):  # L_c's memory bank, inside extra_losses
        if bank is not None:
            fn = getattr(bank, name)

            def timed_bank(*a, fn=fn, name=name, **k):
                with timer.part(f'bank_{name}'):
                    return fn(*a, **k)
            setattr(bank, name, timed_bank)
    cuda = args.device.startswith('cuda')
    syncs = 0
    for it in range(args.warmup + args.iters):
        timer.active = it >= args.warmup
        if cuda and it == args.warmup:
            torch.cuda.reset_peak_memory_stats()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            if cuda and timer.active:
                torch.cuda.set_sync_debug_mode('warn')
            with timer.part('step'):
                with optim_wrapper.optim_context(model):
                    losses = model.loss(data['inputs'], data['data_samples'])
                loss = sum(v for k, v in losses.items() if 'loss' in k)
                with timer.part('backward'):
                    optim_wrapper.backward(loss)
                with timer.part('optimizer'):
                    optim_wrapper.step()
                    optim_wrapper.zero_grad()
                if ema is not None:
                    with timer.part('ema'):
                        ema.momentum_update(model, ema.decay)
            if cuda:
                torch.cuda.set_sync_debug_mode(0)
        if timer.active:
            syncs += sum('synchroniz' in str(w.message) for w in caught)
    host_peak = rss_bytes(peak=True) - rss0  # before the floor's passes
    # the floor: the network passes alone, on the same tensors
    x = data['inputs']
    n_l = cfg.train_dataloader.sampler.labeled_per_batch
    floor_t = Timer(args.device)
    second = getattr(model, 'teacher', None)
    contrast = getattr(model, 'with_contrast', False)
    for it in range(args.warmup + args.iters):
        floor_t.active = it >= args.warmup
        with floor_t.part('floor'), optim_wrapper.optim_context(model):
            with torch.no_grad():
                if second is not None:
                    second.decode_head(second.extract_feat(x[n_l:]))
                    if contrast:  # L_c's teacher pass: decoder feature -> projection g
                        second.contrastive_head(model.decode(second, x)[2])
            student = model.student
            feats, out, dec_feat = model.decode(student, x)
            loss = out.float().mean()
            if contrast:
                loss = loss + student.contrastive_head(dec_feat).float().mean()
            if student.with_auxiliary_head:  # on the labeled images, as L_s
                aux = student.auxiliary_head
                aux = aux if isinstance(aux, torch.nn.ModuleList) else [aux]
                for head in aux:
                    loss = loss + head([f[:n_l] for f in feats]).float().mean()
            loss.backward()
        model.zero_grad(set_to_none=True)
    mean = {k: sum(v) / len(v) for k, v in timer.times.items()}
    floor = sum(floor_t.times['floor']) / len(floor_t.times['floor'])
    report = dict(config=args.config, device=args.device, amp=args.amp, iters=args.iters,
                  optim_wrapper=type(optim_wrapper).__name__, threads=torch.get_num_threads(),
                  autocast_in_student_forward=sorted(autocast_seen),
                  seconds=mean, floor=floor, step_over_floor=mean['step'] / floor,
                  peak_memory_gib=(torch.cuda.max_memory_allocated() / 2**30 if cuda else None),
                  host_peak_rss_increase_gib=host_peak / 2**30,
                  host_syncs_in_step=(syncs if cuda else None),
                  crop=list(data['inputs'].shape[-2:]), batch=int(data['inputs'].shape[0]))
    print(f"[step_profile] {osp.basename(args.config)} on {args.device}, amp={args.amp}, "
          f"crop {report['crop'][0]} x {report['crop'][1]}, {report['batch']} images, "
          f"{args.iters} iterations")
    bank_share = None
    if 'bank_push' in mean or 'bank_sample' in mean:
        bank_s = mean.get('bank_push', 0.0) + mean.get('bank_sample', 0.0)
        bank_share = bank_s / mean['step']
        report.update(bank_push_sample=bank_s, bank_share_of_step=bank_share,
                      bank_shape=list(bank.queue.shape[:1]) + [int(bank.capacity.max()),
                                                               bank.dim])
    for k in ('step',) + PARTS + ('bank_push', 'bank_sample', 'backward', 'optimizer', 'ema'):
        if k in mean:
            label = f'  {k}' if k.startswith('bank_') else k  # part of extra_losses
            print(f'  {label:18s} {mean[k] * 1000:9.1f} ms  {mean[k] / mean["step"]:6.1%}')
    print(f'  floor (network passes) {floor * 1000:.1f} ms; step / floor = '
          f'{report["step_over_floor"]:.2f} (target <= 1.10: '
          f'{"met" if report["step_over_floor"] <= 1.10 else "not met"})')
    if bank_share is not None:
        C, L, D = report['bank_shape']
        print(f'  memory bank ({C} classes x {L} x {D}) push + sample '
              f'{report["bank_push_sample"] * 1000:.1f} ms = {bank_share:.1%} of the step '
              f'(target <= 2 %: {"met" if bank_share <= 0.02 else "not met"})')
    if cuda:
        print(f'  peak memory {report["peak_memory_gib"]:.2f} GiB; host synchronisations '
              f'in the measured steps: {syncs}')
    else:
        print(f'  peak memory (resident set increase over the steps) '
              f'{report["host_peak_rss_increase_gib"]:.2f} GiB')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    main()
