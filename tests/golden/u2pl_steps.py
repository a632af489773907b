# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Losses and gradients of a few U2PL training steps, recorded before a redesign.

``python tests/golden/u2pl_steps.py`` trains the tiny synthetic U2PL configs for
6 iterations (2 of warm start, 4 semi-supervised) through MMEngine's runner,
in-process on one CPU thread, for several variants (paper, authors' code, L_b,
in-batch negatives from all pixels, CutMix-Seg), and writes, per iteration,
every logged loss value and, per student parameter, a fingerprint of its
gradient (the gradient as the optimizer sees it: norm, sum and 64 strided
entries); at the end the same fingerprint of every teacher tensor and of the
memory bank (the grads as one (iterations, parameters, 34) tensor). ``tests/test_u2pl_golden.py`` reruns the same training and
compares with the recorded file (to 1e-6), so a refactor that changes what a
U2PL step computes fails. Regenerate only on purpose (the file records the
commit it was made at).

Portable numerics: the same step on another CPU (AVX2 vs AVX-512, another
oneDNN blocking) gives gradients that differ by ~1e-4 of their scale at the
first iteration, and the discontinuous parts of a U2PL step (entropy
percentiles, argmax pseudo-labels) amplify that to ~0.5 within 4 iterations.
So both the record and the check run in a fresh process with ``PORTABLE_ENV``
(ATen's baseline kernels, MKL's conditional numerical reproducibility, one
thread) and oneDNN off (convolutions through ATen's im2col + MKL GEMM), where
the result depends on the code, not on the machine's instruction set.
The record was made this way from the pre-redesign commit 34c195e (its
generator with oneDNN switched off).
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RECORD = osp.join(osp.dirname(osp.abspath(__file__)), 'u2pl_steps.pt')
MAX_ITERS = 6
SAMPLES = 32
# set before torch is imported (they are read once, at import)
PORTABLE_ENV = {'ATEN_CPU_CAPABILITY': 'default', 'MKL_CBWR': 'COMPATIBLE',
                'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
# every variant: delta_p = 0 so that L_c has anchors of several classes at random init
COMMON = {'model.contrastive_head.positive_threshold': 0.0}

# cfg-options of each variant on top of configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py
VARIANTS: Dict[str, dict] = {
    'paper': {},
    # L_c is 0 here: the authors' unlabeled negatives are empty (reference Sec. 3)
    'authors_code': {'model.contrastive_head.reference': 'authors_code'},
    'binary': {'model.contrastive_head.loss_type': 'binary'},
    'negatives_all_in_batch': {'model.contrastive_head.negatives_from': 'all',
                               'model.memory_bank': None},
    'cutmix_seg': {'model.contrastive_head': None, 'model.memory_bank': None},
}


def fingerprint(t: torch.Tensor) -> torch.Tensor:
    """norm, sum (float64) and SAMPLES strided entries of ``t``, stored as float32."""
    flat = t.detach().reshape(-1).double()
    step = max(1, flat.numel() // SAMPLES)
    samples = flat[::step][:SAMPLES]
    samples = torch.cat([samples, samples.new_zeros(SAMPLES - samples.numel())])
    return torch.cat([flat.norm().view(1), flat.sum().view(1), samples]).float()


def make_data(tmp: str) -> None:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tests/
    from _tiny import make_synthetic_split
    make_synthetic_split(tmp, seed=3)


def run_variant(tmp: str, name: str) -> dict:
    """Train one variant for MAX_ITERS iterations in ``tmp`` (made by make_data)."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    cfg = Config.fromfile(osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'))
    options = dict(COMMON, **VARIANTS[name])
    if options.get('model.contrastive_head', 0) is None:
        options.pop('model.contrastive_head.positive_threshold')
    cfg.merge_from_dict(options)
    cfg.work_dir = osp.join(tmp, 'work', name)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS,
                         val_interval=10 * MAX_ITERS)
    cfg.param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0,
                                end=MAX_ITERS, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10 * MAX_ITERS)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    # 40 unlabeled / 4 per iteration: 10 iterations per epoch, warm start until 2
    for hook in cfg.custom_hooks:
        if hook['type'] == 'SemiScheduleHook':
            hook['warm_start_epochs'] = 0.2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.randomness = dict(seed=0)
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        runner = Runner.from_cfg(cfg)
        record = dict(losses=[], grads=[])

        class Recorder(Hook):
            priority = 'LOWEST'

            def before_train(self, runner):
                model = runner.model
                names = {id(p): n for n, p in model.named_parameters()}

                def grab(optimizer, args, kwargs):
                    grads = {names[id(p)]: fingerprint(p.grad)
                             for group in optimizer.param_groups for p in group['params']
                             if p.grad is not None and names[id(p)].startswith('student.')}
                    record.setdefault('grad_names', sorted(grads))
                    if sorted(grads) != record['grad_names']:
                        raise RuntimeError('the set of parameters with a gradient changed')
                    record['grads'].append(torch.stack([grads[k] for k in sorted(grads)]))

                runner.optim_wrapper.optimizer.register_step_pre_hook(grab)

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                record['losses'].append({k: float(v) for k, v in outputs.items()})

        runner.register_hook(Recorder())
        runner.train()
        model = runner.model
        record['grads'] = torch.stack(record['grads'])
        state = {f'teacher.{k}': v for k, v in model.teacher.state_dict().items()}
        bank = getattr(model, 'memory_bank', None)
        if bank is not None:
            state.update({f'bank.{k}': v for k, v in bank.state_dict().items()})
        record['final_names'] = sorted(k for k, v in state.items() if v.numel())
        record['final'] = torch.stack([fingerprint(state[k].float())
                                       for k in record['final_names']])
        return record
    finally:
        os.chdir(cwd)


def run_portable(args: list, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python u2pl_steps.py ARGS`` in a fresh process with PORTABLE_ENV."""
    env = dict(os.environ, **PORTABLE_ENV, PYTHONWARNINGS='ignore')
    return subprocess.run([sys.executable, osp.abspath(__file__)] + list(args), env=env,
                          check=True, **kwargs)


def check_portable_env() -> None:
    wrong = {k: os.environ.get(k) for k, v in PORTABLE_ENV.items() if os.environ.get(k) != v}
    if wrong:
        raise RuntimeError(f'u2pl_steps.py must run with {PORTABLE_ENV} (see the module '
                           f'docstring); these differ: {wrong}. Use run_portable().')


def main() -> None:
    """``u2pl_steps.py`` writes RECORD; ``u2pl_steps.py --variant NAME --data DIR --out FILE``
    records one variant (the test's rerun)."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('--variant', choices=sorted(VARIANTS))
    parser.add_argument('--data', help='made by make_data (with --variant)')
    parser.add_argument('--out', help='where to save the record (with --variant)')
    args = parser.parse_args()
    check_portable_env()
    import mmseg_u2pl  # noqa: F401  (registers the modules)
    if args.variant:
        torch.save(run_variant(args.data, args.variant), args.out)
        return
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    out = dict(commit=commit, variants={}, env=PORTABLE_ENV, mkldnn=False)
    with tempfile.TemporaryDirectory() as tmp:
        make_data(tmp)
        for name in VARIANTS:
            out['variants'][name] = run_variant(tmp, name)
            losses = out['variants'][name]['losses'][-1]
            print(name, {k: round(v, 5) for k, v in losses.items()})
    torch.save(out, RECORD)
    print('wrote', RECORD)


if __name__ == '__main__':
    main()
