"""Gradients of activations in one oneDNN pass: ``g`` times a factor that a chain of
post-ops (`chain`) derives from the saved input or output on the way.

Piecewise-linear functions: ``x`` times 2^200 (two exact steps of 2^100) lies outside
[-1, 1] wherever ``x`` is not zero, subnormals included, so clipping it to [lo, 1] gives 1
where x > 0 and lo where x <= 0: the factor itself. oneDNN's clip maps NaN to its lower
bound, which is where PyTorch's leaky ReLU gradient puts NaN too (its x > 0 test fails).
Each factor is exact, so ``g * factor`` is the product PyTorch's kernel computes (1M
elements: about 0.09 ms on two cores, against 0.14-0.21 for oneDNN's eltwise backward after a
NaN check).

From the output: sigmoid's ``(g * (1 - y)) * y``, the operations PyTorch's kernel makes in
its order, so the same bits (oneDNN's own eltwise backward rounds differently: a third of the
elements an ulp off), and faster (1M: 0.10 ms against 0.14). (tanh's ``g * (1 - y * y)``
stays oneDNN's eltwise backward: it, like PyTorch's, takes 1 - y * y as one fused
multiply-add, which a chain's separate steps cannot, and which keeps 1 - y * y accurate
where y is near 1.)
"""

import numpy as np

from ember.backends.onednn import chain, library

MIN_ELEMENTS = 1 << 18
"""From here a gradient runs here (at 256k elements the pass costs what NumPy's does)."""

_SCALED = (chain.linear(2.0**100, 0.0),) * 2
"""Steps from x to x * 2^200."""


def _sign_steps(lo):
    """Steps from x to 1 where x > 0, ``lo`` where x <= 0 or x is NaN."""
    return (*_SCALED, chain.function("clip_v2", lo, 1.0))


def _usable(g, x):
    return (
        library.available()
        and x.__class__ is np.ndarray
        and x.size >= MIN_ELEMENTS
        and x.shape == g.shape
        and chain.plain_float32(x.reshape(-1), g.reshape(-1))
    )


def _run(steps, g, x):
    return _run_on(steps, g, x, (g,))


def _run_on(steps, g, saved, arrays):
    """The chain ``saved`` (the maximum of it and itself) then ``steps``, reading ``arrays``,
    as a new array of ``saved``'s shape; None where it declines."""
    if not _usable(g, saved):
        return None
    flat, out = saved.reshape(-1), np.empty(saved.shape, np.float32)
    flat_arrays = tuple(a.reshape(-1) for a in arrays)
    found = chain.run("maximum", steps, flat, flat, flat_arrays, out.reshape(-1))
    return None if found is None else out


def leaky_relu(g, x, slope):
    """``g`` where x > 0, else ``g * slope`` (NaN included, as PyTorch), for C-contiguous
    float32 arrays of one shape and 0 < slope <= 1; None where it declines."""
    slope = float(np.float32(slope))
    if not 0 < slope <= 1:
        return None
    return _run((*_sign_steps(slope), chain.with_array("multiply")), g, x)


def sign_times(g, x):
    """``g * sign(x)`` (a zero x gives ``g * +0``, as PyTorch's ``g * sgn(x)``) for
    C-contiguous float32 arrays of one shape without NaN in ``x`` (the caller checks: the
    clip would give -1 there, where PyTorch's sign is 0); None where it declines."""
    steps = (
        *_SCALED,
        chain.function("clip_v2", -1.0, 1.0),
        chain.linear(1, 1),  # (+-0 + 1) - 1 is +0; 1 and -1 stay
        chain.linear(1, -1),
        chain.with_array("multiply"),
    )
    return _run(steps, g, x)


def sigmoid_from_output(g, y):
    """``(g * (1 - y)) * y`` for C-contiguous float32 arrays of one shape; None where it
    declines."""
    steps = (chain.linear(-1, 1), chain.with_array("multiply"), chain.with_array("multiply"))
    return _run_on(steps, g, y, (g, y))
