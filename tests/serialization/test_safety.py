"""PyTorch checkpoints are read without running code from them."""

import io
import os
import pickle
import pickletools

import pytest
import torch

import ember
from ember.serialization import CheckpointError, UnsafeCheckpointError


class System:
    """Pickles as a call to os.system."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class Exec:
    """Pickles as a call to builtins.exec."""

    def __init__(self, source):
        self.source = source

    def __reduce__(self):
        return exec, (self.source,)


def payloads(marker):
    return {
        "posix.system": System(f"touch {marker}"),
        "builtins.exec": Exec(f"open({str(marker)!r}, 'w').close()"),
    }


@pytest.mark.parametrize(
    "name, refused", [("posix.system", "posix.system"), ("builtins.exec", "__builtin__.exec")]
)
def test_malicious_checkpoint_is_refused_and_nothing_runs(name, refused, tmp_path, torch_bytes):
    marker = tmp_path / "marker"
    payload = payloads(marker)[name]
    # the payload is live: unpickling it with pickle creates the marker
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
    marker.unlink()
    data = torch_bytes({"weight": torch.ones(2), "evil": payload})
    with pytest.raises(UnsafeCheckpointError, match=f"refused the global '{refused}'") as info:
        ember.load(io.BytesIO(data))
    assert isinstance(info.value, pickle.UnpicklingError)
    assert not marker.exists()


def test_whole_module_pickles_are_refused(torch_bytes):
    data = torch_bytes(torch.nn.Linear(2, 2))
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear.*state_dict"):
        ember.load(io.BytesIO(data))


def test_hand_made_pickles_cannot_reach_other_globals(torch_zip):
    for module, name in [
        ("subprocess", "Popen"),
        ("torch", "load"),
        ("torch._utils", "_import_dotted_name"),
        ("builtins", "getattr"),
        ("collections", "namedtuple"),
    ]:
        pkl = f"\x80\x02c{module}\n{name}\n)R.".encode("latin-1")
        with pytest.raises(UnsafeCheckpointError, match=f"'{module}.{name}'"):
            ember.load(io.BytesIO(torch_zip(pkl)))


def test_build_cannot_alter_embers_objects(torch_zip):
    """Pickle's BUILD sets attributes on the object below it; globals must be per-load copies."""
    # torch.float32, then BUILD with slot state {'name': 'hacked'}
    hack_dtype = b"\x80\x02ctorch\nfloat32\nN}X\x04\x00\x00\x00nameX\x06\x00\x00\x00hackeds\x86b."
    # a rebuild function, then BUILD with slot state {'__defaults__': ()}
    hack_func = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__)s\x86b."
    )
    for pkl in (hack_dtype, hack_func):
        pickletools.dis(pkl, out=io.StringIO())  # well-formed
        with pytest.raises(CheckpointError):
            ember.load(io.BytesIO(torch_zip(pkl)))
    assert ember.float32.name == "float32"
    assert ember.load(io.BytesIO(torch_zip(b"\x80\x02ctorch\nfloat32\n."))) is ember.float32


def test_rebuild_arguments_are_checked(torch_zip):
    def tensor_pkl(offset, size, stride):
        return (
            b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("
            b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
            + pickle.dumps(offset, 2)[2:-1]
            + pickle.dumps(tuple(size), 2)[2:-1]
            + pickle.dumps(tuple(stride), 2)[2:-1]
            + b"\x89Nt"
            + b"R."
        )

    raw = bytes(16)
    ok = ember.load(io.BytesIO(torch_zip(tensor_pkl(1, (3,), (1,)), {"0": raw})))
    assert ok.shape == (3,)
    for offset, size, stride in [
        (2, (3,), (1,)),
        (0, (3,), (2,)),
        (-1, (1,), (1,)),
        (0, (2, 2), (1,)),
        (0, (10**12,), (1,)),
    ]:
        with pytest.raises(CheckpointError):
            ember.load(io.BytesIO(torch_zip(tensor_pkl(offset, size, stride), {"0": raw})))
    with pytest.raises(CheckpointError, match="should hold 4 elements"):
        ember.load(io.BytesIO(torch_zip(tensor_pkl(0, (1,), (1,)), {"0": bytes(12)})))
    with pytest.raises(CheckpointError, match="missing"):
        ember.load(io.BytesIO(torch_zip(tensor_pkl(0, (1,), (1,)))))
