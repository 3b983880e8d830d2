"""Large random fills draw a chunk at a time: the same values as one draw, without a float64
copy of the whole tensor."""

import tracemalloc

import numpy as np
import pytest

import ember
from ember._ops import creation

FILLS = {
    "uniform_": lambda t, g: t.uniform_(-2.0, 3.0, generator=g),
    "normal_": lambda t, g: t.normal_(0.5, 2.0, generator=g),
    "kaiming_uniform_": lambda t, g: ember.nn.init.kaiming_uniform_(t, generator=g),
}


def _filled(name, shape, dtype=ember.float32):
    generator = ember.Generator().manual_seed(7)
    return FILLS[name](ember.empty(shape, dtype=dtype), generator).numpy()


@pytest.mark.parametrize("name", sorted(FILLS))
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_a_chunked_fill_equals_one_draw(name, dtype, monkeypatch):
    shape = (3 * 1024 + 5, 1021)  # several chunks and a short last one
    chunked = _filled(name, shape, dtype)
    monkeypatch.setattr(creation, "_DRAW_CHUNK", 1 << 40)
    whole = _filled(name, shape, dtype)
    np.testing.assert_array_equal(chunked, whole)


def test_a_fill_allocates_no_float64_copy_of_the_tensor():
    tensor = ember.empty(2048, 2048)  # 16 MB of float32, 32 MB as float64
    tracemalloc.start()
    try:
        tensor.normal_()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < tensor.numel() * 4
    assert 0.9 < float(tensor.std()) < 1.1
