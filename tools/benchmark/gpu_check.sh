#!/usr/bin/env bash
# Device check (issue 15): on a machine with a CUDA GPU, profile U2PL's training
# step at the paper's Cityscapes setting (DeepLabV3+ R101, 769 crops, 2 + 2 images
# per GPU) on generated data, in fp32 and in mixed precision (bf16, fp16): step
# time by part, peak memory, step / floor and host synchronisations in the step.
#
# Then, with U2PL_AUTHORS_REPO set to a clone of the authors' code
# (github.com/Haochen-Wang409/U2PL), their step against ours at the same setting
# (tools/benchmark/authors_side_by_side.py); skipped with a message otherwise.
#
#   bash tools/benchmark/gpu_check.sh [OUT_DIR]      # GPU, ~5 minutes (+ a few side by side)
#   bash tools/benchmark/gpu_check.sh --dry-run      # CPU, tiny config (CI)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
if [ "${1:-}" = "--dry-run" ]; then
  $PY tools/benchmark/step_profile.py --dry-run
  exit 0
fi
OUT=${1:-benchmarks/gpu_check}
mkdir -p "$OUT"
CFG=configs/u2pl/u2pl_r101_cityscapes_1-16.py
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name(0))"
for amp in none bf16 fp16; do
  $PY tools/benchmark/step_profile.py $CFG --device cuda --amp $amp --iters ${ITERS:-30} \
      --warmup 5 --json "$OUT/u2pl_r101_cityscapes_769_$amp.json" 2>&1 | grep -v "^[0-9/]* [0-9:]* - mmengine"
done
if [ -n "${U2PL_AUTHORS_REPO:-}" ]; then
  # ours in fp32 and in bf16 (the authors' code has no mixed precision)
  for amp in none bf16; do
    $PY tools/benchmark/authors_side_by_side.py --authors-repo "$U2PL_AUTHORS_REPO" --device cuda \
        --crop 769 769 --labeled 2 --unlabeled 2 --iters ${SBS_ITERS:-10} --warmup 3 \
        --rounds ${SBS_ROUNDS:-2} --amp $amp --json "$OUT/authors_side_by_side_769_$amp.json"
  done
else
  echo "authors_side_by_side: skipped (set U2PL_AUTHORS_REPO to a clone of github.com/Haochen-Wang409/U2PL)"
fi
