"""benchmarks/gpu_check.sh in its CPU dry mode (so the GPU check cannot rot)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_trains_and_plans_tiny_configs():
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', 'benchmarks/gpu_check.sh', '--dry'], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith('| configs/')]
    assert len(rows) == 2
    for row in rows:
        cells = [cell.strip() for cell in row.strip('|').split('|')]
        assert cells[-1] == 'yes'  # finite losses
        assert float(cells[3]) > 0 and float(cells[5]) > 0  # s/iteration, plan peak
