#!/usr/bin/env bash
# The README's main job: make the toy Stable Diffusion stack (first run only), train a tiny MADM on
# the toy Cityscapes RGB -> DELIVER depth data and its source-only baseline on CPU through
# tools/train.py (both from the pretrained toy SD stack, in parallel), evaluate each last
# checkpoint with tools/test.py, print the target mIoU of each and write
# work_dirs/demo/predictions.png. Run through `make demo` (which installs the environment and makes
# the toy data first). Arguments go to scripts/demo.py (--work-dir, --configs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${VENV:-.venv}/bin/python"
exec "$PY" scripts/demo.py "$@"
