"""The toy config of each method, relative to the repository root.

One list for what runs "every method on the toy": the exact-resume benchmark
(``benchmarks/resume_table.py``) and its test (``tests/test_engine/test_exact_resume.py``).
"""
from typing import Dict

#: Method name -> its toy config (toy foundation models, the shared toy recipe).
TOY_METHOD_CONFIGS: Dict[str, str] = dict(
    DAFormer='configs/toy/daformer_mitb0-tiny_toy.py',
    MIC='configs/toy/mic_mitb0-tiny_toy.py',
    MADM='configs/madm/madm_tiny_toy-rgb2depth.py',
    ICCLD='configs/toy/iccld_sd-tiny_toy.py',
    CrossMatch='configs/toy/crossmatch_mitb0-tiny_toy.py',
    LC_MSM='configs/toy/lcmsm_mitb0-tiny_toy.py',
    DIFF='configs/toy/diff_tiny_toy-dg.py',
)
