"""The real ``safetensors`` package under ``ember run``: save_file / load_file / save / load and
safe_open(framework="pt") give what they give under PyTorch, and files move both ways."""

import numpy as np
import pytest
import torch

pytest.importorskip("safetensors")
from safetensors.torch import load_file, save_file  # noqa: E402

ROUND_TRIP = """
import json
import torch
from safetensors import safe_open
from safetensors.torch import load, load_file, save, save_file

tensors = {
    "weight": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7,
    "half": torch.arange(5, dtype=torch.bfloat16) - 2,
    "index": torch.tensor([1, -2, 3], dtype=torch.int64),
    "mask": torch.tensor([True, False]),
    "empty": torch.zeros(0, 3),
    "scalar": torch.tensor(2.5, dtype=torch.float64),
    "small": torch.tensor([[-1, 2]], dtype=torch.int8),
}
save_file(tensors, "model.safetensors", metadata={"format": "pt"})


def describe(t):
    return [str(t.dtype).split(".")[-1], list(t.shape), t.float().tolist()]


result = {"load_file": {k: describe(v) for k, v in load_file("model.safetensors").items()}}
with safe_open("model.safetensors", framework="pt") as f:
    result["metadata"] = f.metadata()
    result["keys"] = sorted(f.keys())
    result["get_tensor"] = {k: describe(f.get_tensor(k)) for k in f.keys()}
    part = f.get_slice("weight")
    result["slice"] = [part.get_shape(), part.get_dtype(), describe(part[1:, :2])]
    result["slice_rows"] = describe(f.get_slice("index")[1:])
result["bytes"] = {k: describe(v) for k, v in load(save({"x": torch.ones(2, 2)})).items()}

# Tensors read back are saved again; tensors sharing memory are refused.
save_file(load_file("model.safetensors"), "again.safetensors")
result["again"] = {k: describe(v) for k, v in load_file("again.safetensors").items()}
base = torch.zeros(4)
try:
    save_file({"a": base, "b": base[2:]}, "shared.safetensors")
    result["shared"] = "saved"
except RuntimeError as e:
    result["shared"] = "refused" if "share memory" in str(e) else str(e)
try:
    save_file({"t": torch.zeros(3, 4).t()}, "strided.safetensors")
    result["strided"] = "saved"
except ValueError as e:
    result["strided"] = "refused" if "non contiguous" in str(e) else str(e)
print(json.dumps(result))
"""


def test_save_load_and_safe_open_match_torch(run_under_both):
    got, want = run_under_both(ROUND_TRIP)
    assert got == want
    assert want["shared"] == "refused" and want["strided"] == "refused"


READ_THEN_WRITE = """
import json
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

who = "ember" if "ember" in torch.__version__ else "torch"
loaded = load_file("from_torch.safetensors")
with safe_open("from_torch.safetensors", framework="pt") as f:
    opened = {k: f.get_tensor(k) for k in f.keys()}
save_file({"w": (torch.arange(6.0) - 2).reshape(2, 3) / 4, "n": torch.arange(4, dtype=torch.int32)},
          f"by_{who}.safetensors")
print(json.dumps({k: [str(v.dtype).split(".")[-1], v.float().tolist(),
                      opened[k].float().tolist()] for k, v in loaded.items()}))
"""


def test_files_move_between_torch_and_ember(run_under_both, tmp_path):
    written = {
        "w": torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),
        "h": torch.randn(6, dtype=torch.float16, generator=torch.Generator().manual_seed(1)),
        "b": torch.tensor([[1.5, -2.25]], dtype=torch.bfloat16),
        "i": torch.arange(-3, 3, dtype=torch.int16),
    }
    save_file(written, str(tmp_path / "from_torch.safetensors"))
    got, want = run_under_both(READ_THEN_WRITE)
    assert got == want
    assert got["w"][1] == written["w"].tolist()

    from_ember = load_file(str(tmp_path / "by_ember.safetensors"))
    from_torch = load_file(str(tmp_path / "by_torch.safetensors"))
    assert from_ember.keys() == from_torch.keys()
    for k in from_torch:
        assert from_ember[k].dtype == from_torch[k].dtype
        np.testing.assert_array_equal(from_ember[k].numpy(), from_torch[k].numpy())


TIED_WEIGHTS = """
import json
import torch
from safetensors.torch import load_file, load_model, save_model


def model():
    emb, head = torch.nn.Embedding(5, 3), torch.nn.Linear(3, 5, bias=False)
    head.weight = emb.weight  # tied: one storage, saved once
    return torch.nn.ModuleDict({"emb": emb, "head": head, "proj": torch.nn.Linear(3, 2)})


torch.manual_seed(0)
saved = model()
save_model(saved, "tied.safetensors")
loaded = model()
missing, unexpected = load_model(loaded, "tied.safetensors")
print(json.dumps({
    "keys": sorted(load_file("tied.safetensors")), "missing": sorted(missing),
    "unexpected": sorted(unexpected),
    "same": all(bool((a == b).all()) for a, b in zip(saved.parameters(), loaded.parameters())),
    "still_tied": loaded.head.weight is loaded.emb.weight,
}))
"""


def test_save_model_deduplicates_tied_weights_as_under_torch(run_under_both):
    got, want = run_under_both(TIED_WEIGHTS)
    assert got == want
    assert want["same"] and len(want["keys"]) == 3
