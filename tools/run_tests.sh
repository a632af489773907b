#!/usr/bin/env bash
# README command 2 (and CI): set up if needed, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
