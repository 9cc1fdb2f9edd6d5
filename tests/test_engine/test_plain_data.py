import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmseg_diffuda.engine import (find_non_plain, from_plain_data, is_weights_only_error,
                                  to_plain_data, weights_only_error_message)


def safe_round_trip(obj):
    """torch.save, then torch.load with the safe (weights-only) unpickler."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_history_buffer_round_trip():
    buffer = HistoryBuffer(max_length=3)
    for value, count in [(0.5, 1), (1.5, 2), (2.5, 1), (4.0, 1)]:
        buffer.update(value, count)
    loaded = from_plain_data(safe_round_trip(to_plain_data(dict(loss=buffer))))['loss']
    assert isinstance(loaded, HistoryBuffer)
    assert loaded.max_length == 3
    np.testing.assert_array_equal(loaded.data[0], [1.5, 2.5, 4.0])
    np.testing.assert_array_equal(loaded.data[1], [2, 1, 1])
    assert loaded.data[0].dtype == buffer.data[0].dtype
    assert loaded.data[1].dtype == buffer.data[1].dtype
    assert loaded.mean() == pytest.approx((1.5 + 2.5 + 4.0) / (2 + 1 + 1))  # count-weighted
    assert loaded.current() == 4.0
    loaded.update(5.0)  # still a working buffer
    assert loaded.data[0].tolist() == [2.5, 4.0, 5.0]


def test_empty_history_buffer_round_trip():
    loaded = from_plain_data(safe_round_trip(to_plain_data(HistoryBuffer())))
    assert loaded.data[0].shape == (0, ) and loaded.max_length == 1000000


def test_numpy_scalars_become_python_numbers():
    plain = safe_round_trip(
        to_plain_data(dict(eta=np.float64(12.25), iter=np.int64(7), flag=np.bool_(True))))
    assert plain == dict(eta=12.25, iter=7, flag=True)
    assert [type(v) for v in plain.values()] == [float, int, bool]


@pytest.mark.parametrize('array', [
    np.arange(6, dtype=np.int32).reshape(2, 3),
    np.array([0.1, 0.2], dtype=np.float16),
    np.array([True, False]),
    np.array(['road', 'car']),
])
def test_arrays_round_trip_with_dtype(array):
    loaded = from_plain_data(safe_round_trip(to_plain_data([array])))[0]
    assert loaded.dtype == array.dtype
    np.testing.assert_array_equal(loaded, array)


def test_containers_keep_their_types_and_state_dict_metadata():
    state_dict = torch.nn.BatchNorm2d(2).state_dict()  # OrderedDict with `_metadata` (versions)
    obj = dict(sd=state_dict, t=(1, np.float32(2.5)), s={3}, l=[None, 'x'], size=torch.Size([2]))
    plain = safe_round_trip(to_plain_data(obj))
    restored = from_plain_data(plain)
    assert type(restored['sd']) is OrderedDict
    assert restored['sd']._metadata == state_dict._metadata
    assert torch.equal(restored['sd']['running_var'], state_dict['running_var'])
    assert restored['t'] == (1, 2.5) and type(restored['t']) is tuple
    assert restored['s'] == {3} and restored['l'] == [None, 'x']
    assert restored['size'] == torch.Size([2])


def test_find_non_plain_names_the_offending_entries():
    class Opaque:
        pass

    checkpoint = dict(meta=dict(eta=np.float64(1.0)), message_hub=dict(buffers=[Opaque()]))
    found = find_non_plain(checkpoint)
    assert found == [
        "checkpoint['meta']['eta'] (numpy.float64)",
        f"checkpoint['message_hub']['buffers'][0] ({__name__}.{Opaque.__qualname__})",
    ]
    assert find_non_plain(to_plain_data(checkpoint)) == [found[1]]  # only the unknown object


def test_weights_only_error_is_recognised_and_explained():
    buffer = io.BytesIO()
    torch.save(dict(message_hub=HistoryBuffer([1.0], [1])), buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError) as info:
        torch.load(buffer)  # torch >= 2.6: weights_only=True by default, as mmengine calls it
    assert is_weights_only_error(info.value)
    assert not is_weights_only_error(pickle.UnpicklingError('truncated file'))
    message = weights_only_error_message(info.value, 'work_dirs/x/iter_8.pth')
    assert 'Unsupported global' in message
    assert ('tools/model_converters/plain_checkpoint.py work_dirs/x/iter_8.pth '
            'work_dirs/x/iter_8_plain.pth --trust') in message  # a new file, never in place
