#!/usr/bin/env bash
# Create (or update) the project's virtual environment with the stack that works on CPU machines:
#   torch 2.14.1 + torchvision 0.29.1, mmcv 2.1.0 WITH compiled ops, mmengine 0.10.7,
#   mmsegmentation 1.2.2, diffusers, transformers, open_clip_torch, and this package (editable).
#
# mmcv 2.1.0 has no wheel for torch 2.14, so it is built from the PyPI sdist (16-25 minutes on
# 2 cores) once, and the wheel is kept in a cache OUTSIDE the clone, keyed by mmcv/torch/Python
# versions, so later installs (other clones, CI runs) reuse it in seconds.
#
# Environment variables:
#   VENV                     venv directory (default: .venv in the repository root)
#   PYTHON                   interpreter used to create the venv (default: python3)
#   MMSEG_DIFFUDA_CACHE      wheel cache (default: ${XDG_CACHE_HOME:-~/.cache}/mmseg-diffuda/wheels)
#   EXTRAS                   extra requirement files to install, e.g. "tests optional"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac  # absolute: later steps cd elsewhere
PYTHON="${PYTHON:-python3}"
CACHE="${MMSEG_DIFFUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmseg-diffuda/wheels}"
EXTRAS="${EXTRAS:-}"

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0

log() { printf '[install] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --progress-bar off)

# Skip everything when nothing that affects the environment changed since the last install.
stamp_src=$(cat setup.py requirements/*.txt scripts/install.sh 2>/dev/null; echo "$EXTRAS")
stamp=$(printf '%s' "$stamp_src" | sha256sum | cut -c1-16)
if [ -f "$VENV/.mmseg_diffuda_stamp" ] && [ "$(cat "$VENV/.mmseg_diffuda_stamp")" = "$stamp" ] \
   && "$PY" -c "import mmcv.ops, mmseg, mmseg_diffuda" >/dev/null 2>&1; then
  log "environment up to date ($VENV)"
  exit 0
fi

log "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION"
"${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
"${PIP[@]}" -r requirements/build.txt

py_tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
arch=$(uname -m)
key="mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${py_tag}_${arch}"
mkdir -p "$CACHE/$key"

if "$PY" -c "import mmcv, sys; from mmcv.ops import nms; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" \
    >/dev/null 2>&1; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  wheel=$(ls "$CACHE/$key"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    log "no cached mmcv wheel in $CACHE/$key: building mmcv $MMCV_VERSION with ops from the sdist"
    log "(this takes 16-25 minutes on 2 cores, once per machine)"
    build=$(mktemp -d)
    "$PY" -m pip download --no-deps --no-binary :all: -d "$build" "mmcv==$MMCV_VERSION"
    tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
    src="$build/mmcv-$MMCV_VERSION"
    # torch 2.14 headers need C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$PY" -m pip wheel --no-build-isolation --no-deps -w "$build/dist" .)
    cp "$build"/dist/mmcv-"$MMCV_VERSION"-*.whl "$CACHE/$key/"
    rm -rf "$build"
    wheel=$(ls "$CACHE/$key"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
    log "cached $wheel"
  else
    log "using cached $wheel"
  fi
  "${PIP[@]}" --no-deps "$wheel"
  # mmcv's own light dependencies (its wheel was installed without them).
  "${PIP[@]}" addict pyyaml yapf opencv-python Pillow packaging
fi

log "installing runtime requirements"
"${PIP[@]}" -r requirements/runtime.txt
for extra in $EXTRAS; do
  log "installing requirements/$extra.txt"
  "${PIP[@]}" -r "requirements/$extra.txt"
done
"${PIP[@]}" --no-deps --no-build-isolation -e .

(cd / && "$PY" -c "from mmcv.ops import nms; import mmseg, mmseg_diffuda; print('[install] import check ok')")
echo "$stamp" > "$VENV/.mmseg_diffuda_stamp"
