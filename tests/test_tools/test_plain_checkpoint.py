"""tools/model_converters/plain_checkpoint.py, run in-process through runpy."""
import os
import pickle
import runpy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmseg_diffuda.engine import from_plain_data

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'model_converters' / 'plain_checkpoint.py'


def run_converter(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, 'argv', [str(SCRIPT), *args])
    runpy.run_path(str(SCRIPT), run_name='__main__')


@pytest.fixture
def legacy(tmp_path) -> Path:
    """A checkpoint as mmengine 0.10.7 writes it without PlainDataCheckpointHook."""
    path = tmp_path / 'legacy.pth'
    torch.save(
        dict(
            meta=dict(iter=8, eta=np.float64(2.5)),
            state_dict=OrderedDict(weight=torch.ones(2)),
            message_hub=dict(
                log_scalars=OrderedDict({'train/loss': HistoryBuffer([0.5, 0.25], [1, 1])}),
                runtime_info=OrderedDict(iter=8),
                resumed_keys=OrderedDict({'train/loss': True, 'iter': True}))), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    return path


def test_refuses_unsafe_loading_without_trust(monkeypatch, legacy, tmp_path):
    with pytest.raises(SystemExit, match='--trust') as info:
        run_converter(monkeypatch, str(legacy), str(tmp_path / 'out.pth'))
    assert 'Unsupported global' in str(info.value)  # what torch refused
    assert not (tmp_path / 'out.pth').exists()


def test_converts_with_trust(monkeypatch, legacy, tmp_path, capsys):
    out = tmp_path / 'sub' / 'out.pth'
    run_converter(monkeypatch, str(legacy), str(out), '--trust')
    plain = torch.load(out, weights_only=True)
    assert plain['meta'] == dict(iter=8, eta=2.5)
    restored = from_plain_data(plain)
    buffer = restored['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.data[0].tolist() == [0.5, 0.25]
    assert torch.equal(restored['state_dict']['weight'], torch.ones(2))
    assert 'weights_only=True' in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ['out.pth']  # no temporary file left


def test_refuses_to_overwrite_the_input(monkeypatch, legacy):
    before = legacy.read_bytes()
    with pytest.raises(SystemExit, match='writes a new file.*legacy_plain.pth'):
        run_converter(monkeypatch, str(legacy), str(legacy), '--trust')
    assert legacy.read_bytes() == before


def test_lists_the_globals_of_the_file(monkeypatch, legacy, tmp_path):
    with pytest.raises(SystemExit) as info:
        run_converter(monkeypatch, str(legacy), str(tmp_path / 'out.pth'))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in str(info.value)
    assert 'PlainDataCheckpointHook' in str(info.value)  # an old checkpoint, convertible


class RunsACommand:
    """What a malicious pickle holds: unpickling calls os.system."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_a_malicious_file_is_named_as_such(monkeypatch, tmp_path):
    evil = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=OrderedDict(w=torch.zeros(1)), payload=RunsACommand()), evil)
    with pytest.raises(SystemExit) as info:
        run_converter(monkeypatch, str(evil), str(tmp_path / 'out.pth'))
    message = str(info.value)
    assert 'posix.system' in message or 'nt.system' in message
    assert 'may be malicious' in message and 'HistoryBuffer' not in message
    assert not (tmp_path / 'out.pth').exists()


def test_plain_checkpoint_needs_no_trust(monkeypatch, tmp_path):
    src = tmp_path / 'plain.pth'
    torch.save(dict(meta=dict(iter=1), state_dict=OrderedDict(w=torch.zeros(1))), src)
    run_converter(monkeypatch, str(src), str(tmp_path / 'copy.pth'))
    assert torch.load(tmp_path / 'copy.pth', weights_only=True)['meta'] == dict(iter=1)
