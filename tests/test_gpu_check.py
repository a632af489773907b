# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The device check's CPU dry run (tools/benchmark/gpu_check.sh --dry-run):
the step profile of a tiny U2PL config, every part timed, a floor measured."""
import json
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


def test_step_profile_bf16_on_cpu_runs_under_amp_and_reports_memory(tmp_path):
    # a child process: step_profile lifts MMEngine's accelerator check for AMP on CPU
    out = tmp_path / 'bf16.json'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/benchmark/step_profile.py'),
                           '--dry-run', '--amp', 'bf16', '--json', str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    report = json.loads(out.read_text())
    assert report['amp'] == 'bf16' and report['optim_wrapper'] == 'AmpOptimWrapper'
    assert report['autocast_in_student_forward'] == [True]
    assert report['host_peak_rss_increase_gib'] > 0
    assert report['step_over_floor'] > 0.5
    assert 'resident set increase' in proc.stdout


def test_step_profile_refuses_fp16_on_cpu(capsys):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'benchmark'))
    import pytest
    import step_profile
    with pytest.raises(SystemExit):
        step_profile.parse_args(['--device', 'cpu', '--amp', 'fp16'])
    assert 'fp16 needs --device cuda' in capsys.readouterr().err
