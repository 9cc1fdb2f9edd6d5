#!/usr/bin/env bash
# The README's main job: train a tiny MADM on the toy Cityscapes RGB -> DELIVER depth data and its
# source-only baseline on CPU through tools/train.py, evaluate each last checkpoint with
# tools/test.py on the toy depth target, and print the target mIoU of each.
# Run through `make demo` (which installs the environment and makes the toy data first).
#
# Environment variables:
#   DEMO_CONFIGS   space-separated configs to run (default below)
#   DEMO_WORK_DIR  where checkpoints and logs go (default work_dirs/demo)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${VENV:-.venv}/bin/python"
WORK="${DEMO_WORK_DIR:-work_dirs/demo}"
CONFIGS="${DEMO_CONFIGS:-configs/toy/source-only_madm-tiny_toy-rgb2depth.py configs/madm/madm_tiny_toy-rgb2depth.py}"

declare -a names results
for cfg in $CONFIGS; do
  name=$(basename "$cfg" .py)
  wd="$WORK/$name"
  echo "==> [demo] training $cfg (logs: $wd)"
  "$PY" tools/train.py "$cfg" --work-dir "$wd"
  ckpt=$(cat "$wd/last_checkpoint")
  echo "==> [demo] evaluating $ckpt on the toy target"
  "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$wd/test" 2>&1 | tee "$wd/test.log"
  miou=$(grep -oE 'mIoU: [0-9.]+' "$wd/test.log" | tail -n 1 | awk '{print $2}')
  names+=("$name"); results+=("${miou:-n/a}")
done

echo
echo "Target mIoU on the toy target (tools/test.py, last checkpoint):"
for i in "${!names[@]}"; do
  printf '  %-45s %s\n' "${names[$i]}" "${results[$i]}"
done
