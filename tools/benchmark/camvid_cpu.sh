#!/usr/bin/env bash
# The CamVid `cpu` benchmark of README.md, in the order the runs were made.
# Resumable: run it again after an interruption. PYTHON defaults to .venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
SP="$PY tools/benchmark/semi_protocol.py --protocol cpu"
[ -d data/camvid ] || $PY tools/dataset_converters/camvid.py
# 1/8: SupOnly and U2PL with seed 0, then CutMix-Seg and U2PL (L_b)
$SP --configs suponly u2pl --splits 1-8 --seeds 0 || true
$SP --configs cutmix-seg u2pl-lb --splits 1-8 --seeds 0 || true
# 1/8: seeds 1 and 2 of SupOnly and U2PL
$SP --configs suponly u2pl --splits 1-8 --seeds 0 1 2 || true
# Tab. 6 ablation at 1/8, seed 0 (first what L_c and its unreliable negatives buy)
$SP --configs u2pl_tab6-row1_no-lc u2pl_tab6-row5_no-unreliable u2pl_tab6-row2_lc-only \
    u2pl_tab6-row3_no-dpa u2pl_tab6-row4_no-prt u2pl --splits 1-8 --seeds 0 || true
# more seeds as time allows: U2PL (L_b) seeds 1 and 2
$SP --configs u2pl-lb --splits 1-8 --seeds 0 1 2 || true
# more seeds: CutMix-Seg seeds 1 and 2
$SP --configs cutmix-seg --splits 1-8 --seeds 0 1 2 || true
# more splits: SupOnly and U2PL at 1/16 and 1/4, seed 0
$SP --configs suponly u2pl --splits 1-16 1-4 --seeds 0 || true
# the headline table
$SP --configs suponly cutmix-seg u2pl u2pl-lb --splits 1-8 --seeds 0 1 2 --report-only
