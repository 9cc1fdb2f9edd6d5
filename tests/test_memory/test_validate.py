"""The plan's step growth against the measured growth of the same real CPU iteration."""
import json
import os
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

from mmseg_diffuda.memory import plan_train_step
from mmseg_diffuda.memory.validate import MALLOC_ENV

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/madm/madm_tiny_toy-rgb2depth.py'


def test_planned_step_growth_matches_measured_rss_growth():
    crop = (128, 128)
    plan = plan_train_step(Config.fromfile(REPO / CONFIG), batch_size=2, crop=crop)
    env = dict(os.environ, OMP_NUM_THREADS='1', **MALLOC_ENV)
    proc = subprocess.run(
        [sys.executable, 'benchmarks/memory_plan_validation.py', CONFIG, '--measure',
         '--batch-size', '2', '--crop', *map(str, crop)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    measured = json.loads(proc.stdout.strip().splitlines()[-1])['step_growth_bytes']
    assert abs(measured / plan.step_growth_bytes - 1) < 0.15, (measured, plan.step_growth_bytes)
