"""2-D convolutions whose weight oneDNN keeps reordered between calls, against torch 2.13.

Where no gradient of a weight is recorded, oneDNN's kernel reorders it into the primitive's
layout once per version of the weight. Each case checks that results equal torch's after the
weight changes in the ways programs change weights, and counts weight reorders to see the
reordered copy reused while the weight is unchanged and renewed when it changes.
"""

import gc
import threading

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode as TorchFlopCounterMode

import ember
from ember.backends import registry
from ember.backends.onednn import conv as onednn_conv
from ember.backends.onednn import library
from ember.utils.flop_counter import FlopCounterMode
from tests.nn.helpers import copy_weights

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

RTOL, ATOL = 1e-4, 1e-5  # float32 sums in another order than torch's

GEOMETRIES = {
    "plain": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1),
    "stride": dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1),
    "dilation": dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2),
    "asymmetric": dict(in_channels=3, out_channels=5, kernel_size=(3, 5), stride=(2, 1)),
    "same": dict(in_channels=4, out_channels=6, kernel_size=(3, 4), padding="same"),
    "groups": dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2),
    "depthwise": dict(in_channels=6, out_channels=6, kernel_size=3, padding=1, groups=6),
    "pointwise_no_bias": dict(in_channels=8, out_channels=16, kernel_size=1, bias=False),
}


@pytest.fixture
def weight_reorders(monkeypatch):
    """How many times oneDNN's convolutions reordered a weight."""
    count = [0]
    real = onednn_conv._Bound._reordered

    def counted(self, reorder, arg, array):
        count[0] += arg == library.ARG_WEIGHTS
        return real(self, reorder, arg, array)

    monkeypatch.setattr(onednn_conv._Bound, "_reordered", counted)
    return count


def _pair(cls="Conv2d", **kwargs):
    """The torch and the ember layer, with the same float32 weights, in eval mode."""
    torch.manual_seed(0)
    tmod = getattr(torch.nn, cls)(**kwargs)
    emod = getattr(ember.nn, cls)(**kwargs)
    copy_weights(tmod, emod, dtype="float32")
    return tmod.eval(), emod.eval()


def _input(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _check_inference(tmod, emod, x):
    """Outputs under no_grad agree, and oneDNN's reusing kernel ran."""
    with torch.no_grad():
        want = tmod(torch.from_numpy(x.copy())).numpy()
    with ember.no_grad():
        got = emod(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    if x.ndim == 4:
        assert registry.last_used("conv2d_reusing_weight") == "onednn"


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_repeated_calls_match_torch_and_reorder_the_weight_once(name, weight_reorders):
    tmod, emod = _pair(**GEOMETRIES[name])
    c = GEOMETRIES[name]["in_channels"]
    x = _input((1, c, 9, 10))
    _check_inference(tmod, emod, x)
    first = weight_reorders[0]
    for _ in range(3):
        _check_inference(tmod, emod, x)
    assert weight_reorders[0] == first
    if name == "plain":
        assert first == 1


def test_batch_sizes_share_the_reordered_weight(weight_reorders):
    tmod, emod = _pair(**GEOMETRIES["plain"])
    for batch in (1, 2, 5, 1):
        _check_inference(tmod, emod, _input((batch, 4, 20, 20)))
    assert weight_reorders[0] == 1


@pytest.mark.parametrize("batch", [1, 3])
def test_channels_last_and_batched_inputs(batch):
    tmod, emod = _pair(**GEOMETRIES["plain"])
    x = _input((batch, 4, 7, 8))
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for array in (x, nhwc, x):
        _check_inference(tmod, emod, array)
    with ember.no_grad():
        out = emod(ember.tensor(nhwc).contiguous(memory_format=ember.channels_last))
    assert out.is_contiguous(memory_format=ember.channels_last)


def _mul(w):
    w.mul_(-0.5)


def _copy(w):
    w.copy_(w.flip(0))


def _setitem(w):
    w[0] = 0.25


def _through_view(w):
    w.view(-1)[::3].add_(1.0)


def _through_data(w):
    w.data.sub_(0.125)


def _through_detached(w):
    w.detach().mul_(3.0)


IN_PLACE = {
    f.__name__.lstrip("_"): f
    for f in (_mul, _copy, _setitem, _through_view, _through_data, _through_detached)
}


@pytest.mark.parametrize("name", list(IN_PLACE))
@pytest.mark.parametrize("geometry", ["plain", "depthwise"])
def test_in_place_weight_change_is_seen(name, geometry, weight_reorders):
    tmod, emod = _pair(**GEOMETRIES[geometry])
    x = _input((1, 4 if geometry == "plain" else 6, 8, 8))
    _check_inference(tmod, emod, x)
    first = weight_reorders[0]
    with torch.no_grad():
        IN_PLACE[name](tmod.weight)
    with ember.no_grad():
        IN_PLACE[name](emod.weight)
    _check_inference(tmod, emod, x)
    assert weight_reorders[0] == 2 * first
    _check_inference(tmod, emod, x)
    assert weight_reorders[0] == 2 * first


def test_load_state_dict_is_seen():
    tmod, emod = _pair(**GEOMETRIES["plain"])
    x = _input((2, 4, 8, 8))
    _check_inference(tmod, emod, x)
    torch.manual_seed(5)
    other = torch.nn.Conv2d(**GEOMETRIES["plain"])
    tmod.load_state_dict(other.state_dict())
    emod.load_state_dict({k: ember.tensor(v.numpy()) for k, v in other.state_dict().items()})
    _check_inference(tmod, emod, x)


def test_replaced_weight_data_is_seen():
    tmod, emod = _pair(**GEOMETRIES["plain"])
    x = _input((1, 4, 8, 8))
    _check_inference(tmod, emod, x)
    new = _input(tuple(tmod.weight.shape), seed=7)
    tmod.weight.data = torch.from_numpy(new.copy())
    emod.weight.data = ember.tensor(new)
    _check_inference(tmod, emod, x)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_optimizer_steps_between_inference_calls(optimizer):
    tmod, emod = _pair(**GEOMETRIES["stride"])
    topt = getattr(torch.optim, optimizer)(tmod.parameters(), lr=0.1)
    eopt = getattr(ember.optim, optimizer)(emod.parameters(), lr=0.1)
    x = _input((2, 4, 8, 8))
    for _ in range(3):
        _check_inference(tmod, emod, x)
        tmod.train(), emod.train()
        for mod, opt, lib in ((tmod, topt, torch), (emod, eopt, ember)):
            opt.zero_grad()
            (mod(lib.tensor(x)) ** 2).mean().backward()
            opt.step()
        tmod.eval(), emod.eval()
        _check_inference(tmod, emod, x)


def _gradients(mod, lib, x, g):
    xt = lib.tensor(x, requires_grad=True)
    out = mod(xt)
    out.backward(lib.tensor(g))
    grads = [xt.grad] + [p.grad for p in mod.parameters() if p.requires_grad]
    return [out.detach().numpy()] + [t.numpy() for t in grads]


@pytest.mark.parametrize("size", [8, 20])  # outputs narrow and wide: both forward primitives
@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("geometry", ["plain", "groups", "dilation"])
def test_gradients_match_torch(frozen, geometry, size):
    """Training gradients, and the input and bias gradients past a frozen weight (whose
    forward reuses the reordered weight), equal torch's over repeated steps."""
    tmod, emod = _pair(**GEOMETRIES[geometry])
    if frozen:
        tmod.weight.requires_grad_(False)
        emod.weight.requires_grad_(False)
    x = _input((2, GEOMETRIES[geometry]["in_channels"], size, size))
    with torch.no_grad():
        g = np.random.default_rng(3).standard_normal(tmod(torch.from_numpy(x)).shape)
    g = g.astype(np.float32)
    for _ in range(2):
        for mod in (tmod, emod):
            mod.zero_grad()
        want = _gradients(tmod, torch, x, g)
        got = _gradients(emod, ember, x, g)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-4)
    expected = "conv2d_reusing_weight" if frozen else "conv2d"
    assert registry.last_used(expected) == "onednn"


def test_training_forward_does_not_keep_a_copy(weight_reorders):
    _, emod = _pair(**GEOMETRIES["plain"])
    emod.train()
    x = ember.tensor(_input((1, 4, 8, 8)))
    for calls in range(1, 4):
        emod(x).sum().backward()
        assert weight_reorders[0] == calls


def test_conv1d_weight_view_and_in_place_change():
    tmod, emod = _pair("Conv1d", in_channels=3, out_channels=5, kernel_size=3, padding=1)
    x = _input((1, 3, 11))
    for _ in range(2):
        _check_inference(tmod, emod, x)
    with torch.no_grad():
        tmod.weight.add_(0.5)
    with ember.no_grad():
        emod.weight.add_(0.5)
    _check_inference(tmod, emod, x)


def test_inference_mode_and_functional_call():
    tmod, emod = _pair(**GEOMETRIES["plain"])
    x = _input((1, 4, 6, 6))
    w = ember.tensor(tmod.weight.detach().numpy())
    want = torch.nn.functional.conv2d(torch.from_numpy(x), tmod.weight, None, 1, 1)
    with ember.inference_mode():
        for _ in range(2):
            got = ember.nn.functional.conv2d(ember.tensor(x), w, None, 1, 1)
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)
        w.mul_(2.0)
        got = ember.nn.functional.conv2d(ember.tensor(x), w, None, 1, 1)
    np.testing.assert_allclose(got.numpy(), 2 * want.detach().numpy(), rtol=RTOL, atol=ATOL)


def test_numpy_backend_runs_the_same_calls():
    tmod, emod = _pair(**GEOMETRIES["groups"])
    x = _input((1, 4, 8, 8))
    with torch.no_grad():
        want = tmod(torch.from_numpy(x)).numpy()
    with registry.only("numpy"), ember.no_grad():
        for _ in range(2):
            got = emod(ember.tensor(x)).numpy()
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
        assert registry.last_used("conv2d") == "numpy"


def _kept_copies():
    """How many weights oneDNN's convolutions keep reordered copies of."""
    return len(onednn_conv._packed_weights._entries)


def test_reordered_copy_is_released_with_the_weight():
    gc.collect()
    before = _kept_copies()
    _, emod = _pair(in_channels=5, out_channels=7, kernel_size=3)
    with ember.no_grad():
        emod(ember.tensor(_input((1, 5, 9, 9))))
    assert _kept_copies() == before + 1
    del emod
    gc.collect()
    assert _kept_copies() == before


def test_concurrent_calls_from_threads():
    """Threads running one layer's primitives at once all get torch's results. The weights
    are frozen, so calls reuse the reordered weight without `no_grad` (ember's grad mode is
    one for the whole process)."""
    tmod, emod = _pair(**GEOMETRIES["plain"])
    emod.requires_grad_(False)
    inputs = [_input((1, 4, 8, 8), seed=s) for s in range(4)]
    with torch.no_grad():
        wants = [tmod(torch.from_numpy(x)).numpy() for x in inputs]
    errors = []

    def work():
        try:
            for _ in range(10):
                for x, want in zip(inputs, wants):
                    got = emod(ember.tensor(x)).numpy()
                    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
        except AssertionError as e:
            errors.append(e)

    threads = [threading.Thread(target=work, name=f"ember-test-{i}") for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def _all_runners():
    for plan in onednn_conv._plans.values():
        for bound in [] if plan is None else plan._built.values():
            if bound is not None:
                yield from bound._runners.values()
                yield from (runner for _, runner in bound._links.values() if runner is not None)


def test_primitive_busy_in_another_thread():
    """A run that finds a primitive's memory objects in use runs with its own."""
    tmod, emod = _pair(**GEOMETRIES["stride"])
    x = _input((1, 4, 8, 8))
    _check_inference(tmod, emod, x)
    held = [runner._lock for runner in _all_runners() if runner._lock.acquire(blocking=False)]
    try:
        assert held
        _check_inference(tmod, emod, _input((1, 4, 8, 8), seed=2))
    finally:
        for lock in held:
            lock.release()


def test_flop_counter_under_no_grad():
    tmod, emod = _pair(**GEOMETRIES["plain"])
    x = _input((2, 4, 8, 8))
    with torch.no_grad(), TorchFlopCounterMode(display=False) as tcount:
        want = tmod(torch.from_numpy(x)).numpy()
    with ember.no_grad(), FlopCounterMode(display=False) as ecount:
        got = emod(ember.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    assert ecount.get_total_flops() == tcount.get_total_flops() > 0
