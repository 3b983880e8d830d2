"""Compare ember with torch on the same NumPy inputs and the same weights.

- ``compare_modules(tmod, emod, arrays, ...)``: load torch's weights into the ember module
  through ``load_state_dict`` (as NumPy arrays), run both, backpropagate the same random
  cotangent, and compare outputs, input gradients, parameter gradients and buffers.
- ``compare_functions(t_fn, e_fn, arrays, ...)``: the same for two plain functions.
- ``check_gradcheck(e_fn, arrays, ...)``: ember's analytical Jacobian (and optionally the
  second derivative) against central finite differences in float64.
"""

import numpy as np
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

TOLERANCES = {"float32": (1e-5, 1e-6), "float64": (1e-6, 1e-7)}


def _cast(array, dtype):
    return array.astype(dtype) if array.dtype.kind == "f" else array


def _as_tuple(out):
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def _assert_close(e, t, rtol, atol, what):
    e_np = e.detach().numpy() if isinstance(e, ember.Tensor) else np.asarray(e)
    t_np = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert e_np.shape == t_np.shape, f"{what}: shape {e_np.shape} != torch's {t_np.shape}"
    if t_np.dtype.kind == "f":
        assert e_np.dtype == t_np.dtype, f"{what}: dtype {e_np.dtype} != torch's {t_np.dtype}"
    np.testing.assert_allclose(e_np, t_np, rtol=rtol, atol=atol, err_msg=what)


def copy_weights(tmod, emod, dtype="float64"):
    """Load torch's state_dict into the ember module (through NumPy) and cast both to dtype."""
    tmod.to(getattr(torch, dtype))
    state = {
        k: ember.tensor(_cast(v.detach().numpy(), dtype)) for k, v in tmod.state_dict().items()
    }
    result = emod.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys, result
    emod.to(getattr(ember, dtype))


def _backward_and_compare(t_in, e_in, t_out, e_out, dtype, rtol, atol):
    """Forward outputs agree; the same random cotangent gives the same input gradients."""
    t_out, e_out = _as_tuple(t_out), _as_tuple(e_out)
    assert len(t_out) == len(e_out), f"{len(e_out)} outputs, torch has {len(t_out)}"
    for i, (t, e) in enumerate(zip(t_out, e_out)):
        _assert_close(e, t, rtol, atol, f"output {i}")
    rng = np.random.default_rng(123)
    t_total, e_total = 0, 0
    for t, e in zip(t_out, e_out):
        if not (t.requires_grad and t.dtype.is_floating_point):
            continue
        w = rng.standard_normal(tuple(t.shape)).astype(dtype)
        t_total = t_total + (t * torch.tensor(w)).sum()
        e_total = e_total + (e * ember.tensor(w)).sum()
    if isinstance(t_total, int):
        return False
    t_total.backward()
    e_total.backward()
    for i, (t, e) in enumerate(zip(t_in, e_in)):
        if isinstance(t, torch.Tensor) and t.grad is not None:
            assert e.grad is not None, f"input {i}: no gradient, torch has one"
            _assert_close(e.grad, t.grad, rtol, atol, f"gradient of input {i}")
    return True


def _inputs(arrays, dtype, constant_inputs):
    """The same inputs for both libraries; float inputs require grad unless constant."""
    arrays = [_cast(np.asarray(a), dtype) for a in arrays]
    diff = [
        a.dtype.kind == "f" and bool(np.isfinite(a).all()) and i not in constant_inputs
        for i, a in enumerate(arrays)
    ]
    t_in = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    e_in = [ember.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    return t_in, e_in


def compare_functions(
    t_fn, e_fn, arrays, dtype="float64", rtol=None, atol=None, constant_inputs=()
):
    """``t_fn(*torch_tensors)`` and ``e_fn(*ember_tensors)`` agree, forward and backward."""
    d_rtol, d_atol = TOLERANCES[dtype]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    t_in, e_in = _inputs(arrays, dtype, constant_inputs)
    _backward_and_compare(t_in, e_in, t_fn(*t_in), e_fn(*e_in), dtype, rtol, atol)


def compare_modules(
    tmod,
    emod,
    arrays,
    dtype="float64",
    rtol=None,
    atol=None,
    call=lambda mod, *xs: mod(*xs),
    pick=lambda out: out,
    train=True,
    constant_inputs=(),
):
    """Outputs, input gradients, parameter gradients and buffers of the two modules agree.

    ``call(module, *inputs)`` runs a module (for keyword arguments or tuple inputs) and
    ``pick(output)`` selects the tensors to compare (for nested outputs).
    """
    d_rtol, d_atol = TOLERANCES[dtype]
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    copy_weights(tmod, emod, dtype)
    tmod.train(train)
    emod.train(train)
    assert list(emod.state_dict()) == list(tmod.state_dict())
    t_in, e_in = _inputs(arrays, dtype, constant_inputs)
    t_out, e_out = pick(call(tmod, *t_in)), pick(call(emod, *e_in))
    _backward_and_compare(t_in, e_in, t_out, e_out, dtype, rtol, atol)
    t_params = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        tg = t_params[name].grad
        if tg is None:
            assert p.grad is None or not np.any(p.grad.numpy()), name
            continue
        assert p.grad is not None, f"parameter {name}: no gradient, torch has one"
        _assert_close(p.grad, tg, rtol, atol, f"gradient of parameter {name}")
    t_buffers = dict(tmod.named_buffers())
    for name, b in emod.named_buffers():
        _assert_close(b, t_buffers[name], rtol, atol, f"buffer {name}")


def check_gradcheck(e_fn, arrays, constant_inputs=(), second_order=False, atol=1e-5, rtol=1e-3):
    """Finite differences in float64 agree with ember's backward (and double backward)."""
    arrays = [_cast(np.asarray(a), "float64") for a in arrays]
    inputs = [
        ember.tensor(a, requires_grad=a.dtype.kind == "f" and i not in constant_inputs)
        for i, a in enumerate(arrays)
    ]
    assert gradcheck(e_fn, inputs, atol=atol, rtol=rtol)
    if second_order:
        assert gradgradcheck(e_fn, inputs, atol=atol, rtol=rtol)


def exit_code_in_forked_child(target, timeout=30):
    """Run target() in a forked child; its exit code, or None when it hung (it is killed)."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=target)
    child.start()
    child.join(timeout=timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return child.exitcode
