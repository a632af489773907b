"""tools/check_disk_space.py: the set-up's early, named failure on a full disk."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import check_disk_space  # noqa: E402

GIB = 2**30


def free_gb(path):
    return shutil.disk_usage(path).free / GIB


def test_enough_space_passes_and_too_little_names_the_folder(tmp_path):
    free = free_gb(tmp_path)
    assert check_disk_space.shortfalls([(str(tmp_path), free / 2)]) == []
    short = check_disk_space.shortfalls([(str(tmp_path), free * 2)])
    assert len(short) == 1 and str(tmp_path) in short[0]


def test_needs_on_one_file_system_add_up(tmp_path):
    a, b = tmp_path / 'venv', tmp_path / 'tmp'
    a.mkdir()
    b.mkdir()
    share = 0.6 * free_gb(tmp_path)
    assert check_disk_space.shortfalls([(str(a), share)]) == []
    assert check_disk_space.shortfalls([(str(b), share)]) == []
    short = check_disk_space.shortfalls([(str(a), share), (str(b), share)])
    assert len(short) == 1 and str(a) in short[0] and str(b) in short[0]


def test_a_folder_not_made_yet_is_checked_on_its_parent_and_scale_zero_skips(tmp_path):
    missing = tmp_path / 'not' / 'yet' / '.venv'
    assert check_disk_space.shortfalls([(str(missing), free_gb(tmp_path) * 2)])
    assert check_disk_space.shortfalls([(str(missing), free_gb(tmp_path) * 2)], scale=0) == []


def test_command_line_exit_status_and_message(tmp_path):
    tool = [sys.executable, str(ROOT / 'tools' / 'check_disk_space.py')]
    ok = subprocess.run(tool + [f'{tmp_path}:0.001'], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    need = free_gb(tmp_path) * 2
    bad = subprocess.run(tool + ['--what', 'torch', f'{tmp_path}:{need}'],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert 'torch' in bad.stderr and str(tmp_path) in bad.stderr
    typo = subprocess.run(tool + ['no-size-given'], capture_output=True, text=True)
    assert typo.returncode == 2 and 'no-size-given' in typo.stderr


def test_setup_checks_the_disk_before_installing_torch():
    script = (ROOT / 'tools' / 'setup_env.sh').read_text()
    check = script.index('tools/check_disk_space.py')
    assert check < script.index('pip_install torch==2.13.0')


@pytest.mark.parametrize('text', ['/tmp', ':3', '/tmp:x'])
def test_malformed_need_is_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError, match='DIR:GB'):
        check_disk_space.parse_need(text)
