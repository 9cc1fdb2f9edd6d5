"""Install mmseg-diffuda, an MMSegmentation 1.x plugin for diffusion- and language-based UDA.

torch and mmcv (with compiled ops) are not listed in ``install_requires``: they depend on the
machine (CUDA or CPU build) and mmcv 2.1.0 needs a source build on torch 2.14. ``scripts/install.sh``
installs the whole stack; users with an OpenMMLab environment can run ``pip install -e .``.
"""
from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``requirements/<name>.txt`` without comments."""
    lines = Path(__file__).parent.joinpath('requirements', f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def read_version() -> str:
    """Read ``__version__`` from ``mmseg_diffuda/version.py`` without importing the package."""
    namespace: dict = {}
    exec(Path(__file__).parent.joinpath('mmseg_diffuda', 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='mmseg-diffuda',
    version=read_version(),
    description='Diffusion- and language-based domain-adaptive semantic segmentation for MMSegmentation 1.x',
    long_description=Path(__file__).parent.joinpath('README.md').read_text(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['mmseg_diffuda', 'mmseg_diffuda.*']),
    install_requires=read_requirements('runtime'),
    extras_require=dict(tests=read_requirements('tests'), optional=read_requirements('optional')),
    license='Apache-2.0',
)
