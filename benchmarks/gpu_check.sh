#!/usr/bin/env bash
# Real iterations of every full-size config on one GPU (random weights in the released formats,
# AMP on): s/iteration, torch.cuda.max_memory_allocated next to the memory plan, finite losses.
# Budget: under 8 minutes on one H100 (1 warm-up + 3 timed iterations per config; the plans run
# on the CPU cores at the same time). The whole run is capped at 450 s.
#   bash benchmarks/gpu_check.sh         # on a GPU machine; paste the table into docs/benchmarks.md
#   bash benchmarks/gpu_check.sh --dry   # CPU, tiny configs: what the test suite runs
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
if [[ "${1:-}" == "--dry" ]]; then
    exec "$PYTHON" benchmarks/gpu_check.py --dry
fi
exec timeout 450 "$PYTHON" benchmarks/gpu_check.py --iters 3 "$@"
