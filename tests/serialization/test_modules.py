"""Module and optimizer state_dicts: saved, loaded into fresh instances, training continued."""

import io

import numpy as np

import ember
from ember import nn, optim


def make():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    return model, optim.Adam(model.parameters(), lr=1e-2)


def step(model, opt, i):
    rng = np.random.default_rng(i)
    x = ember.from_numpy(rng.standard_normal((16, 4)).astype(np.float32))
    y = ember.from_numpy(rng.integers(0, 3, 16))
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def test_resumed_training_matches_uninterrupted(tmp_path):
    model, opt = make()
    for i in range(3):
        step(model, opt, i)
    ember.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "c.pt"
    )
    for i in range(3, 6):
        step(model, opt, i)

    model2 = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    opt2 = optim.Adam(model2.parameters(), lr=1e-2)
    ckpt = ember.load(tmp_path / "c.pt")
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    for i in range(ckpt["epoch"], 6):
        step(model2, opt2, i)
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a._data, b._data, err_msg=k)


def test_tied_weights_stay_tied():
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    buf = io.BytesIO()
    ember.save({"emb": emb.weight, "head": head.weight}, buf)
    buf.seek(0)
    out = ember.load(buf)
    assert out["emb"] is out["head"] and isinstance(out["emb"], nn.Parameter)


def test_torch_resnet_weights_load_into_ember_model():
    import torch

    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 5 * 5, 2),
    )
    tmodel(torch.randn(2, 3, 5, 5))  # moves the running statistics
    tmodel.eval()
    buf = io.BytesIO()
    torch.save(tmodel.state_dict(), buf)
    buf.seek(0)
    emodel = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 2),
    )
    emodel.load_state_dict(ember.load(buf))
    emodel.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        emodel(ember.from_numpy(x))._data,
        tmodel(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
