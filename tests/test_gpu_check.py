# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The device check's CPU dry run (tools/benchmark/gpu_check.sh --dry-run):
the step profile of a tiny U2PL config, every part timed, a floor measured."""
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_gpu_check_dry_run_profiles_every_part():
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools/benchmark/gpu_check.sh'), '--dry-run'],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for part in ('teacher_predict', 'pseudo_label', 'student_predict', 'extra_losses',
                 'backward', 'optimizer', 'ema'):
        assert re.search(rf'{part}\s+[\d.]+ ms', out), part
    ratio = float(re.search(r'step / floor = ([\d.]+)', out).group(1))
    assert ratio > 0.5
    # L_c's memory bank is timed on its own against the 2 % target
    push = float(re.search(r'bank_push\s+([\d.]+) ms', out).group(1))
    sample = float(re.search(r'bank_sample\s+([\d.]+) ms', out).group(1))
    total = float(re.search(r'push \+ sample ([\d.]+) ms', out).group(1))
    assert abs(push + sample - total) < 0.2, out[-2000:]
