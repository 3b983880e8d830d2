"""The call description that ``TORCH_DISTRIBUTED_DEBUG=DETAIL`` compares across ranks names
dtypes by their bare names, the same whether reprs say ``ember.`` or ``torch.`` (``ember
run``), so the mismatch message reads the same either way."""

import pytest

import ember
from ember import _dtype
from ember.distributed.debug_checks import describe


@pytest.mark.parametrize("package", ["ember", "torch"])
def test_describe_names_bare_dtypes(package, monkeypatch):
    monkeypatch.setattr(_dtype, "repr_package", package)
    tensors = [ember.zeros(3), ember.zeros(2, 4, dtype=ember.int64)]
    assert describe("all_reduce", tensors, op="SUM") == (
        "all_reduce, [3] float32, [2, 4] int64, op=SUM"
    )
