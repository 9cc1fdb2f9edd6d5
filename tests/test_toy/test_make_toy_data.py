"""The ``tools/make_toy_data.py`` command line."""
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'make_toy_data.py'


def _load_tool():
    spec = importlib.util.spec_from_file_location('make_toy_data', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_data_and_prints_next_steps(tmp_path, capsys):
    tool = _load_tool()
    out = tmp_path / 'toy'
    argv = [
        '--out',
        str(out), '--num-source', '1', '--num-target-train', '1', '--num-target-val', '1',
        '--num-deliver-train', '1', '--num-deliver-test', '1', '--height', '32', '--width', '64',
        '--seed', '3', '--workers', '1'
    ]
    summary = tool.main(argv)
    assert (out / 'gta/images/00000.png').is_file()
    assert (out / 'cityscapes/camera/val/toycity/toycity_000000_000000_camera.json').is_file()
    assert (out / 'deliver/semantic/cloud/test/toymap_00/000000_semantic_front.png').is_file()
    assert summary['seed'] == 3
    printed = capsys.readouterr().out
    assert f'python tools/dataset_converters/gta5.py {out / "gta"}' in printed
    assert f'python tools/dataset_converters/cityscapes.py {out / "cityscapes"}' in printed
    with pytest.raises(SystemExit, match='--overwrite'):
        tool.main(argv)


def test_cli_defaults():
    args = _load_tool().parse_args([])
    assert args.out == 'data/toy' and args.num_source == 300 and args.seed == 0
    assert (args.height, args.width) == (96, 192)
