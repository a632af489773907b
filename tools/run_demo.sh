#!/usr/bin/env bash
# README command 1: set up (./.venv, mmcv built from source) and run the main job:
# SupOnly vs U2PL on the embedded synthetic dataset, evaluated, as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python tools/run_demo.py "$@"
