#!/usr/bin/env bash
# Real iterations of every full-size config on one GPU (random weights in the released formats,
# AMP on): s/iteration, torch.cuda.max_memory_allocated next to the memory plan, finite losses.
# Budget: under 8 minutes on one H100 (3 timed iterations per config; each config is capped).
#   bash benchmarks/gpu_check.sh            # on a GPU machine; paste the table into docs/benchmarks.md
#   bash benchmarks/gpu_check.sh --dry      # CPU, tiny configs: what the test suite runs
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
if [[ "${1:-}" == "--dry" ]]; then
    exec "$PYTHON" benchmarks/gpu_check.py --dry
fi
status=0
for config in $("$PYTHON" -c "import sys; sys.path.insert(0, 'benchmarks'); \
        from gpu_check import FULL_SIZE; print(' '.join(FULL_SIZE))"); do
    # one process per config: its peak memory is its own; 60 s cap each (7 configs < 8 min)
    timeout 60 "$PYTHON" benchmarks/gpu_check.py "$config" --iters 3 | grep '^| configs' \
        || { echo "| $config | failed or over 60 s |"; status=1; }
done
exit $status
