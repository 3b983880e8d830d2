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
    "name, refused", [("posix.system", "posix.system"), ("builtins.exec", "builtins.exec")]
)
def test_malicious_checkpoint_is_refused_and_nothing_runs(name, refused, tmp_path, torch_bytes):
    marker = tmp_path / "marker"
    payload = payloads(marker)[name]
    # the payload is live: unpickling it with pickle creates the marker
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
    marker.unlink()
    data = torch_bytes({"weight": torch.ones(2), "evil": payload})
    with pytest.raises(UnsafeCheckpointError, match=f"global {refused} ") as info:
        ember.load(io.BytesIO(data))
    assert isinstance(info.value, pickle.UnpicklingError)
    assert "weights_only=False" in str(info.value) and "add_safe_globals" in str(info.value)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=refused.split(".")[-1]):
        torch.load(io.BytesIO(data))  # PyTorch refuses it too
    assert not marker.exists()


def test_whole_module_pickles_are_refused(torch_bytes):
    data = torch_bytes(torch.nn.Linear(2, 2))
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear.*trust"):
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
        with pytest.raises(UnsafeCheckpointError, match=f"global {module}.{name} "):
            ember.load(io.BytesIO(torch_zip(pkl)))


TENSOR = (
    b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
    b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89"
    b"ccollections\nOrderedDict\n)RtR"
)
BUILDS = {
    # tensor attributes: data, autograd graph, hooks
    "tensor-data": TENSOR + b"}X\x05\x00\x00\x00_dataNsb",
    "tensor-grad_fn": TENSOR + b"}X\x07\x00\x00\x00grad_fnNsb",
    "tensor-hooks": TENSOR + b"}X\x06\x00\x00\x00_hooks]sb",
    # attributes of the functions and values that loading itself uses
    "function": b"ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__)s\x86b",
    "dtype": b"ctorch\nfloat32\nN}X\x04\x00\x00\x00nameX\x06\x00\x00\x00hackeds\x86b",
    "class": b"ccollections\nOrderedDict\n}X\x07\x00\x00\x00__doc__Nsb",
}


@pytest.mark.parametrize("name", list(BUILDS))
def test_build_is_refused_where_torch_refuses_it(name, torch_zip):
    """Pickle's BUILD sets attributes on the object below it: PyTorch's weights_only refuses it
    on tensors, functions, classes and dtypes, and so does ember."""
    data = torch_zip(b"\x80\x02" + BUILDS[name] + b".", {"0": bytes(4)})
    with pytest.raises((pickle.UnpicklingError, TypeError)):  # torch's error differs by case
        torch.load(io.BytesIO(data))
    with pytest.raises(UnsafeCheckpointError, match="BUILD"):
        ember.load(io.BytesIO(data))
    assert ember.float32.name == "float32"
    assert ember.load(io.BytesIO(torch_zip(b"\x80\x02ctorch\nfloat32\n."))) is ember.float32


def test_build_on_ordered_dict_is_allowed_as_in_torch(torch_bytes):
    sd = torch.nn.Linear(2, 3).state_dict()  # an OrderedDict with _metadata, set by BUILD
    data = torch_bytes(sd)
    ops = [op.name for op, _, _ in pickletools.genops(torch_zip_member(data, "data.pkl"))]
    assert "BUILD" in ops
    out = ember.load(io.BytesIO(data))
    assert out._metadata == torch.load(io.BytesIO(data))._metadata == {"": {"version": 1}}


def torch_zip_member(data, suffix):
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(data))
    (name,) = [n for n in z.namelist() if n.endswith(suffix)]
    return z.read(name)


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
