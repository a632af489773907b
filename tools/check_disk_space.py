"""Fail early, and say where, when folders lack the free disk space a step needs.

    python tools/check_disk_space.py --what "torch 2.13.0" .venv:5.5 /tmp:3.0

Each ``DIR:GB`` asks for GB gibibytes free in the file system holding DIR (the nearest existing
parent is used for a folder not made yet). Folders on the same file system add up: the check
above needs 8.5 GB where ``.venv`` and ``/tmp`` share a disk. Exit status 1 with one line naming
each short folder, 0 otherwise. ``DISK_CHECK_SCALE`` multiplies every need (0 skips the check).
Only the standard library is used: it runs before anything is installed.
"""
import argparse
import os
import shutil
import sys
from typing import Dict, List, Tuple

GIB = 2**30


def parse_need(text: str) -> Tuple[str, float]:
    """Split ``DIR:GB`` at its last colon."""
    path, _, gb = text.rpartition(':')
    try:
        return (path or _refuse(text)), float(gb)
    except ValueError:
        _refuse(text)


def _refuse(text: str):
    raise argparse.ArgumentTypeError(f'expected DIR:GB (e.g. /tmp:3.5), got {text!r}')


def existing_parent(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def shortfalls(needs: List[Tuple[str, float]], scale: float = 1.0) -> List[str]:
    """Return one message per file system whose free space is below the summed needs."""
    by_device: Dict[int, List[Tuple[str, str, float]]] = {}
    for path, gb in needs:
        where = existing_parent(path)
        by_device.setdefault(os.stat(where).st_dev, []).append((path, where, gb))
    messages = []
    for group in by_device.values():
        need = scale * sum(gb for _, _, gb in group)
        free = shutil.disk_usage(group[0][1]).free / GIB
        if free < need:
            names = ' + '.join(f'{p} ({gb:g} GB)' for p, _, gb in group)
            messages.append(f'{names}: needs {need:.1f} GB, {free:.1f} GB free')
    return messages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('needs', nargs='+', type=parse_need, metavar='DIR:GB')
    parser.add_argument('--what', default='this step', help='what needs the space (for the message)')
    args = parser.parse_args(argv)
    scale = float(os.environ.get('DISK_CHECK_SCALE', '1'))
    short = shortfalls(args.needs, scale)
    if short:
        print(f'[setup] not enough free disk space for {args.what}: ' + '; '.join(short)
              + ' (free some space, or set TMPDIR to a temp folder on another disk; '
              'DISK_CHECK_SCALE=0 skips this check)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
