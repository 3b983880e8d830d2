"""PyTorchFileReader reads a checkpoint's records by name, as PyTorch's does."""

import pytest
import torch

import ember


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "n": torch.tensor([7, 8])}, path)
    return path


def test_records_match_torch(checkpoint):
    ours, theirs = (
        ember.PyTorchFileReader(str(checkpoint)),
        torch.PyTorchFileReader(str(checkpoint)),
    )
    assert ours.get_all_records() == theirs.get_all_records()
    for name in theirs.get_all_records():
        assert ours.get_record(name) == theirs.get_record(name)
        assert ours.get_record_offset(name) == theirs.get_record_offset(name)
    assert ours.serialization_id() == theirs.serialization_id()
    assert ours.has_record("data.pkl") and not ours.has_record("missing")


def test_storage_from_record_holds_the_tensor_bytes(checkpoint):
    with open(checkpoint, "rb") as f:
        reader = ember.PyTorchFileReader(f)
        weights = reader.get_storage_from_record("data/0", 6, ember.float32)
        raw = reader.get_storage_from_record("data/0", 24, ember.UntypedStorage)
        with pytest.raises(RuntimeError, match=r"holds 24 bytes, expected 28 bytes = 7 elem"):
            reader.get_storage_from_record("data/0", 7, ember.float32)
        with pytest.raises(RuntimeError, match="no record named 'nope'"):
            reader.get_record("nope")
    assert weights.tolist() == torch.arange(6.0).tolist()
    assert raw.dtype == ember.uint8 and raw.numel() == 24
