#!/usr/bin/env bash
# Device check (issue 15): on a machine with a CUDA GPU, profile U2PL's training
# step at the paper's Cityscapes setting (DeepLabV3+ R101, 769 crops, 2 + 2 images
# per GPU) on generated data, in fp32 and in mixed precision (bf16, fp16): step
# time by part, peak memory, step / floor and host synchronisations in the step.
#
#   bash tools/benchmark/gpu_check.sh [OUT_DIR]      # GPU, ~5 minutes
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
