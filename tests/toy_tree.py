"""A small converted toy tree (the project's generator and dataset converters) for tests."""
import runpy
from pathlib import Path

from mmseg_diffuda.toy import generate_toy_dataset

REPO = Path(__file__).resolve().parents[1]


def make_toy_tree(root: Path, num_source: int = 3, num_target_train: int = 2,
                  num_deliver_train: int = 0) -> Path:
    """Generate GTA5/Cityscapes(/DELIVER)-format toy trees under ``root`` and convert them.

    Args:
        root (Path): Output folder (``gta``, ``cityscapes`` and, with DELIVER frames,
            ``deliver`` below it).
        num_source (int): Source images. Defaults to 3.
        num_target_train (int): Target train images (1 val image is added). Defaults to 2.
        num_deliver_train (int): DELIVER-format train frames (5 give one per condition; 1 test
            frame is added when > 0). Defaults to 0.

    Returns:
        Path: ``root``.
    """
    generate_toy_dataset(root, num_source=num_source, num_target_train=num_target_train,
                         num_target_val=1, num_deliver_train=num_deliver_train,
                         num_deliver_test=1 if num_deliver_train else 0, seed=0)
    trees = [('gta5.py', 'gta'), ('cityscapes.py', 'cityscapes')]
    trees += [('deliver.py', 'deliver')] if num_deliver_train else []
    for converter, tree in trees:
        script = REPO / 'tools' / 'dataset_converters' / converter
        runpy.run_path(str(script), run_name='converter')['main']([str(root / tree), '--nproc',
                                                                   '1'])
    return root


def link_toy_models(workspace: Path) -> None:
    """Make ``workspace/data/toy_models`` the repository's (the session's toy foundation models),
    so toy configs run from ``workspace`` find their pretrained weights."""
    (workspace / 'data').mkdir(parents=True, exist_ok=True)
    (workspace / 'data' / 'toy_models').symlink_to(REPO / 'data' / 'toy_models',
                                                   target_is_directory=True)
