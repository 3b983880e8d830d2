"""torch.special's orthogonal polynomials p_n(x): Chebyshev (T, U, V, W and their shifted forms
on [0, 1]), Hermite (physicists' H and probabilists' He), Laguerre and Legendre.

As in PyTorch, ``n`` is truncated to an integer, a negative ``n`` gives 0, the values at the
interval's ends are exact, Chebyshev polynomials of high degree inside the interval come from
their trigonometric closed forms, and everything else from the three-term recurrence. The
recurrence runs over degrees (one array step per degree, for the elements still unfinished),
never over elements. PyTorch gives these functions no derivative; neither does ember.
"""

import numpy as np

from ember._ops.special import _float_pair, _into
from ember._tensor import wrap

__all__ = [
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
]  # fmt: skip


def _recurrence(x, n, p1, step):
    """p_n(x) for flat arrays with n >= 1, from p_0 = 1, p_1 and p_{k+1} = step(k, x, p_k,
    p_{k-1}). An element leaves the loop at its degree, or once it is NaN (it stays NaN)."""
    out = p1.copy()
    active = np.flatnonzero(n >= 2)
    xs, ns = x[active], n[active]
    prev, cur = np.ones_like(xs), p1[active]
    k = 1
    while active.size:
        nxt = step(k, xs, cur, prev)
        k += 1
        done = (ns == k) | np.isnan(nxt)
        out[active[done]] = nxt[done]
        keep = ~done
        active, xs, ns, prev, cur = active[keep], xs[keep], ns[keep], cur[keep], nxt[keep]
    return out


def _two_x_step(k, x, p, q):
    return (x + x) * p - q


def _chebyshev_t(x, n, nf):
    a = np.arccos(np.clip(x, -1, 1))
    return (
        [
            (np.abs(x) == 1, np.where((x > 0) | (n % 2 == 0), 1, -1)),
            ((n > 6) & (np.abs(x) < 1), np.cos(nf * a)),
        ],
        x,
        _two_x_step,
    )


def _chebyshev_u(x, n, nf):
    a = np.arccos(np.clip(x, -1, 1))
    s = np.sin(a)
    trig = np.where(s != 0, np.sin((nf + 1) * a) / np.where(s != 0, s, 1),
                    (nf + 1) * np.cos((nf + 1) * a))  # fmt: skip
    return (
        [
            (np.abs(x) == 1, np.where((x > 0) | (n % 2 == 0), nf + 1, -(nf + 1))),
            ((n > 8) & (np.abs(x) < 1), trig),
        ],
        x + x,
        _two_x_step,
    )


def _odd_sign(n, value):
    return np.where(n % 2 == 0, value, -value)


def _chebyshev_v(x, n, nf):
    a = np.arccos(np.clip(x, -1, 1))
    c = np.cos(a / 2)
    trig = np.where(np.sin(a / 2) != 1, np.cos((nf + 0.5) * a) / np.where(c != 0, c, 1),
                    _odd_sign(n, nf + nf + 1))  # fmt: skip
    return (
        [
            (np.abs(x) == 1, np.where(x > 0, 1, _odd_sign(n, nf + nf + 1))),
            ((n > 8) & (np.abs(x) < 1), trig),
        ],
        x + x - 1,
        _two_x_step,
    )


def _chebyshev_w(x, n, nf):
    a = np.arccos(np.clip(x, -1, 1))
    s = np.sin(a / 2)
    at_one = np.where(x > 0, nf + nf + 1, _odd_sign(n, np.ones_like(nf)))
    trig = np.where(np.cos(a / 2) != 1, np.sin((nf + 0.5) * a) / np.where(s != 0, s, 1),
                    at_one)  # fmt: skip
    return (
        [
            (np.abs(x) == 1, at_one),
            ((n > 8) & (np.abs(x) < 1), trig),
        ],
        x + x + 1,
        _two_x_step,
    )


def _shifted(base, threshold, at_ends):
    """The shifted polynomial p*(x) = p(2x - 1): exact at x = 0 and 1, trigonometric for
    degrees above ``threshold`` inside (0, 1), else the recurrence in 2x - 1."""

    def cases(x, n, nf):
        inner, p1, _ = base(x + x - 1, n, nf)
        at_zero, at_one = at_ends(n, nf)
        trig = inner[1][1]
        return (
            [
                (x == 1, at_one),
                (x == 0, at_zero),
                ((n > threshold) & (np.abs(x + x - 1) < 1), trig),
            ],
            p1,
            _shifted_step,
        )

    return cases


def _shifted_step(k, x, p, q):
    return _two_x_step(k, x + x - 1, p, q)


def _hermite_h(x, n, nf):
    return [], x + x, lambda k, x, p, q: (x + x) * p - (k + k) * q


def _hermite_he(x, n, nf):
    return [], x.copy(), lambda k, x, p, q: x * p - k * q


def _laguerre_l(x, n, nf):
    return [(x == 0, np.ones_like(x))], 1 - x, (
        lambda k, x, p, q: ((k + k + 1 - x) * p - k * q) / (k + 1))  # fmt: skip


def _legendre_p(x, n, nf):
    return (
        [
            (np.abs(x) == 1, np.where((x > 0) | (n % 2 == 0), 1, -1)),
        ],
        x.copy(),
        lambda k, x, p, q: ((k + k + 1) * x * p - k * q) / (k + 1),
    )


def _evaluate(cases, x, n):
    """p_n(x) elementwise, ``x`` a float array and ``n`` the degrees (truncated to integers)."""
    x, n = np.broadcast_arrays(x, n)
    shape, dtype = x.shape, x.dtype
    x = x.reshape(-1)
    with np.errstate(all="ignore"):
        n = np.trunc(n.reshape(-1))
        n = np.where(np.isfinite(n), n, -1).astype(np.int64)
        nf = n.astype(dtype)
        special, p1, step = cases(x, n, nf)
        out = np.ones_like(x)
        rest = n >= 1
        for mask, _ in special:
            rest &= ~mask
        if rest.any():
            out[rest] = _recurrence(x[rest], n[rest], p1[rest], step)
        for mask, value in reversed(special):
            out = np.where(mask, value, out)
        out = np.where(n < 0, 0, out)
    return out.astype(dtype, copy=False).reshape(shape)


def _polynomial(name, cases):
    def fn(input, n, *, out=None):
        x, deg = _float_pair(name, input, n)
        return _into(wrap(_evaluate(cases, x._data, deg._data)), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The polynomial {name.replace('_', ' ')} of degree n at x, elementwise."
    return fn


def _at_ends_t(n, nf):
    return _odd_sign(n, np.ones_like(nf)), np.ones_like(nf)


def _at_ends_u(n, nf):
    return _odd_sign(n, nf + 1), nf + 1


def _at_ends_v(n, nf):
    return _odd_sign(n, nf + nf + 1), np.ones_like(nf)


def _at_ends_w(n, nf):
    return _odd_sign(n, np.ones_like(nf)), nf + nf + 1


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t", _chebyshev_t)
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u", _chebyshev_u)
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v", _chebyshev_v)
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w", _chebyshev_w)
shifted_chebyshev_polynomial_t = _polynomial(
    "shifted_chebyshev_polynomial_t", _shifted(_chebyshev_t, 6, _at_ends_t)
)
shifted_chebyshev_polynomial_u = _polynomial(
    "shifted_chebyshev_polynomial_u", _shifted(_chebyshev_u, 6, _at_ends_u)
)
shifted_chebyshev_polynomial_v = _polynomial(
    "shifted_chebyshev_polynomial_v", _shifted(_chebyshev_v, 6, _at_ends_v)
)
shifted_chebyshev_polynomial_w = _polynomial(
    "shifted_chebyshev_polynomial_w", _shifted(_chebyshev_w, 4, _at_ends_w)
)
hermite_polynomial_h = _polynomial("hermite_polynomial_h", _hermite_h)
hermite_polynomial_he = _polynomial("hermite_polynomial_he", _hermite_he)
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l", _laguerre_l)
legendre_polynomial_p = _polynomial("legendre_polynomial_p", _legendre_p)
