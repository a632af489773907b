# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Show what AEL's confidence bank of a checkpoint makes the method do.

    python tools/misc/confidence_bank.py CHECKPOINT [CHECKPOINT ...] [--out FILE.json]

For each checkpoint of an AEL or U2PL w/ AEL run (the state dict holds
``confidence_bank.confidence``), prints per class: ``Conf_c`` (AEL Sec. 3.2,
the EMA of the student's mean probability of class c on its labeled pixels),
the class distribution of the adaptive CutMix ``softmax(1 - Conf)`` and of
the adaptive copy-paste ``softmax(sqrt(1 - Conf))`` (Sec. 3.3), and the keep
probability of the adaptive equalization sampling
``((1 - Conf_c) / max_c' (1 - Conf_c'))^beta`` (Sec. 3.4; ``--beta``, AEL: 1).
Class names come from the checkpoint's ``meta.dataset_meta``. ``--out``
writes the same numbers as JSON (one entry per checkpoint).
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BANK_KEY = 'confidence_bank.confidence'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoints', nargs='+', help='MMEngine checkpoints of AEL runs')
    parser.add_argument('--beta', type=float, default=1.0,
                        help='exponent of the equalization keep probability (AEL: 1)')
    parser.add_argument('--out', help='write the numbers to this JSON file')
    return parser.parse_args(argv)


def bank_of(path: str, beta: float) -> Dict[str, object]:
    """Conf_c and the three distributions derived from it, by class name."""
    import torch

    from mmseg_u2pl.models.utils import class_sampling_probs, equalization_keep_probs
    if not osp.isfile(path):
        raise SystemExit(f'{path}: no such checkpoint')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt)
    if BANK_KEY not in state:
        raise SystemExit(f'{path}: the state dict has no {BANK_KEY!r} (not an AEL or '
                         'U2PL w/ AEL checkpoint)')
    conf = state[BANK_KEY].float()
    classes = list((ckpt.get('meta') or {}).get('dataset_meta', {}).get('classes') or
                   [str(c) for c in range(conf.numel())])
    if len(classes) != conf.numel():
        raise SystemExit(f'{path}: {len(classes)} class names in meta.dataset_meta but '
                         f'{conf.numel()} entries in {BANK_KEY}')
    rows = {
        'confidence': conf,
        'cutmix_class_probs': class_sampling_probs(conf),
        'copy_paste_class_probs': class_sampling_probs(conf, sqrt=True),
        'keep_probs': equalization_keep_probs(conf, beta),
    }
    return dict(checkpoint=path, iter=(ckpt.get('meta') or {}).get('iter'), beta=beta,
                classes=classes,
                **{k: [round(float(x), 4) for x in v] for k, v in rows.items()})


def markdown(bank: Dict[str, object]) -> List[str]:
    names = {'confidence': 'Conf_c', 'cutmix_class_probs': 'CutMix class draw',
             'copy_paste_class_probs': 'copy-paste class draw',
             'keep_probs': f"keep probability (beta {bank['beta']:g})"}
    lines = [f"{bank['checkpoint']} (iteration {bank['iter']}):", '',
             '| | ' + ' | '.join(bank['classes']) + ' |',
             '|---|' + '---:|' * len(bank['classes'])]
    for key, name in names.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{v:.3f}' for v in bank[key]) + ' |')
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import mmseg_u2pl
    mmseg_u2pl.register_checkpoint_safe_globals()  # an MMEngine checkpoint, torch >= 2.6
    banks = [bank_of(p, args.beta) for p in args.checkpoints]
    for bank in banks:
        print('\n'.join(markdown(bank)) + '\n')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(banks, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
