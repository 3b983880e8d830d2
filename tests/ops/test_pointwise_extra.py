"""Pointwise ops beyond the arithmetic table, checked against PyTorch: copysign, heaviside,
nextafter, ldexp, frexp, gcd, lcm, logaddexp(2), fmax, fmin, rad2deg, deg2rad, fix, rsub,
their in-place forms (methods and top-level functions), ``out=`` and errors."""

import numpy as np
import pytest
import torch

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import away, binary, ints, pos, r, reseed, unary, unit

reseed(31)

U = dict(double_backward=True)


def with_zeros(*shape):
    """Normal floats with about a third of them exactly 0."""
    x = r(*shape)
    return np.where(np.abs(x) < 0.45, 0.0, x)


def with_nans(*shape):
    x = r(*shape)
    return np.where(np.abs(x) < 0.3, np.nan, x)


ROWS = [
    Row("copysign", lambda lib, a, b: lib.copysign(a, b), binary(), **U),
    Row("copysign_zeros", lambda lib, a, b: lib.copysign(a, b), [(with_zeros(3, 4), r(4))],
        gradcheck=False),  # torch's second derivative is NaN at 0
    Row("copysign_scalar", lambda lib, a: (lib.copysign(a, -1.0), a.copysign(2)), unary(), **U),
    Row("copysign_int", lambda lib, a, b: lib.copysign(a, b), [(ints(3, 4), r(4))]),
    Row("copysign_int_int", lambda lib, a, b: lib.copysign(a, b), [(ints(3, 4), ints(4))],
        dtypes=(None,), grad=False),
    Row("heaviside", lambda lib, a, b: lib.heaviside(a, b), binary(with_zeros, r), grad=False),
    Row("heaviside_int", lambda lib, a, b: a.heaviside(b), [(ints(3, 4), ints(4))],
        dtypes=(None,), grad=False),
    Row("heaviside_nan", lambda lib, a, b: lib.heaviside(a, b), [(with_nans(3, 4), r(4))],
        grad=False),
    Row("nextafter", lambda lib, a, b: (lib.nextafter(a, b), a.nextafter(a)), binary(),
        grad=False),
    # Non-negative integer exponents: torch's gradient is 0 for negative ones (2 ** -1 in
    # integers); ember's is the true one, checked by gradcheck in "ldexp_negative".
    Row("ldexp", lambda lib, a, b: lib.ldexp(a, b), [(r(3, 4), ints(3, 4, low=0, high=4)),
                                                     (r(2, 3), ints(3, low=0, high=3))], **U),
    Row("ldexp_negative", lambda lib, a, b: lib.ldexp(a, b),
        [(r(3, 4), ints(3, 4, low=-3, high=0))], grad=False),
    Row("ldexp_float", lambda lib, a, b: a.ldexp(b), binary(r, unit), **U),
    Row("ldexp_int", lambda lib, a, b: lib.ldexp(a, b),
        [(ints(3, 4), ints(4, low=-2, high=3))], dtypes=(None,), grad=False),
    Row("frexp_mantissa", lambda lib, a: lib.frexp(a).mantissa, unary(away), **U),
    Row("frexp_zeros", lambda lib, a: lib.frexp(a).mantissa, [(with_zeros(5),)],
        gradcheck=False),  # frexp jumps at 0
    Row("frexp_both", lambda lib, a: tuple(a.frexp()), unary(away) + [(with_zeros(5),)],
        grad=False, dtypes=("float16", "float32", "float64")),
    Row("gcd", lambda lib, a, b: (lib.gcd(a, b), a.gcd(b)),
        [(ints(3, 4, low=-12, high=13), ints(4, low=-12, high=13)),
         (ints(2, 3, dtype=np.int32), ints(2, 3, dtype=np.int16))], dtypes=(None,), grad=False),
    Row("lcm", lambda lib, a, b: (lib.lcm(a, b), a.lcm(b)),
        [(ints(3, 4, low=-12, high=13), ints(4, low=-12, high=13)),
         (ints(2, 3, dtype=np.int32), ints(2, 3, dtype=np.int16))], dtypes=(None,), grad=False),
    Row("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), binary(), **U),
    Row("logaddexp2", lambda lib, a, b: a.logaddexp2(b), binary(), **U),
    Row("logaddexp_large", lambda lib, a, b: lib.logaddexp(a * 500, b * 500),
        [(r(3, 4), r(3, 4))]),
    Row("fmax", lambda lib, a, b: lib.fmax(a, b), binary(), **U),
    Row("fmin", lambda lib, a, b: a.fmin(b), binary(), **U),
    Row("fmax_fmin_nan", lambda lib, a, b: (lib.fmax(a, b), lib.fmin(a, b)),
        [(with_nans(3, 4), with_nans(3, 4)), (with_nans(4), r(3, 1))], gradcheck=False),
    Row("fmax_fmin_ties", lambda lib, a: (lib.fmax(a, a * 1), lib.fmin(a * 1, a)),
        [(r(3, 4),)], gradcheck=False),
    Row("fmax_int", lambda lib, a, b: (lib.fmax(a, b), lib.fmin(a, b)),
        [(ints(3, 4), ints(4)), (ints(3, 4), r(4))], dtypes=(None,), grad=False),
    Row("rad2deg", lambda lib, a: (lib.rad2deg(a), a.deg2rad()), unary(), **U),
    Row("rad2deg_int", lambda lib, a: (lib.rad2deg(a), lib.deg2rad(a)), [(ints(3, 4),)],
        dtypes=(None,), grad=False),
    Row("fix", lambda lib, a: (lib.fix(a), lib.fix(a * 0 + 3)), unary(away), **U),
    Row("rsub", lambda lib, a, b: (lib.rsub(a, b), lib.rsub(a, b, alpha=2), lib.rsub(a, 2)),
        binary(), **U),
]  # fmt: skip


def in_place(method, *args, **kwargs):
    """fn(lib, a, *others): ``a.method(*others)`` on a non-leaf copy of ``a``."""

    def fn(lib, a, *others):
        x = a * 1
        out = getattr(x, method)(*others, *args, **kwargs)
        assert out is x
        return x

    return fn


def top_level_in_place(name, *args, **kwargs):
    """fn(lib, a, *others): ``lib.name(a, *others)`` on a non-leaf copy of ``a``."""

    def fn(lib, a, *others):
        x = a * 1
        out = getattr(lib, name)(x, *others, *args, **kwargs)
        assert out is x
        return x

    return fn


def nonempty(gen=r):
    """The unary samples but the empty one (in-place writes to empty tensors are refused)."""
    return unary(gen)[:3]


SAME = [(r(3, 4), r(3, 4)), (r(3, 4), r(4))]
IN_PLACE = [
    Row("copysign_", in_place("copysign_"), SAME, **U),
    Row("ldexp_", in_place("ldexp_"), [(r(3, 4), ints(4, low=0, high=3))]),
    Row("heaviside_", in_place("heaviside_"), [(with_zeros(3, 4), r(4))], grad=False),
    Row("nextafter_", in_place("nextafter_"), SAME, grad=False),
    Row("rad2deg_", in_place("rad2deg_"), nonempty(), **U),
    Row("deg2rad_", top_level_in_place("deg2rad_"), nonempty(), **U),
    Row("fix_", in_place("fix_"), nonempty(away)),
    Row("fix_top", top_level_in_place("fix_"), nonempty(away)),
    Row("negative_", in_place("negative_"), nonempty(), **U),
    Row("negative_top", top_level_in_place("negative_"), nonempty(), **U),
    Row("absolute_", in_place("absolute_"), [(away(3, 4),)]),
    Row("arccos_", in_place("arccos_"), nonempty(unit)),
    Row("arcsin_", top_level_in_place("arcsin_"), nonempty(unit)),
    Row("arctan_", in_place("arctan_"), nonempty()),
    Row("arcsinh_", top_level_in_place("arcsinh_"), nonempty(), grad=False),
    Row("arccosh_", in_place("arccosh_"), [(pos(3, 4) + 1,)], grad=False),
    Row("arctanh_", top_level_in_place("arctanh_"), nonempty(unit), grad=False),
    Row("arctan2_", in_place("arctan2_"), SAME),
    Row("compare_", lambda lib, a, b: tuple(
        in_place(m)(lib, a, b) for m in ("greater_", "greater_equal_", "less_", "less_equal_",
                                         "not_equal_")), SAME, grad=False),
    Row("logical_xor_", in_place("logical_xor_"), [(with_zeros(3, 4), with_zeros(4))],
        grad=False),
    Row("cumprod_", in_place("cumprod_", 1), [(r(3, 4),)]),
    Row("tril_triu_", lambda lib, a: (in_place("tril_")(lib, a), in_place("triu_", 1)(lib, a),
                                      in_place("tril_", diagonal=-1)(lib, a)),
        [(r(3, 4),), (r(2, 3, 3),)]),
    Row("swapaxes_", lambda lib, a: (in_place("swapaxes_", 0, 1)(lib, a),
                                     in_place("swapdims_", 1, 0)(lib, a)), [(r(3, 4),)]),
    Row("float_power_", in_place("float_power_", 2.5), [(pos(3, 4),)], dtypes=("float64",)),
    Row("xlogy_top", top_level_in_place("xlogy_"), [(with_zeros(3, 4), pos(4))]),
    Row("sinc_top", top_level_in_place("sinc_"), nonempty()),
    Row("i0_top", top_level_in_place("i0_"), nonempty()),
    Row("clamp_top", lambda lib, a: (top_level_in_place("clamp_", -0.5, 0.5)(lib, a),
                                     top_level_in_place("clip_", min=0.1)(lib, a),
                                     top_level_in_place("clamp_min_", 0.2)(lib, a),
                                     top_level_in_place("clamp_max_", 0.3)(lib, a)),
        [(away(3, 4),)]),
    Row("round_top", top_level_in_place("round_"), nonempty(away), grad=False),
    Row("nan_to_num_top", top_level_in_place("nan_to_num_", nan=1.5), [(with_nans(3, 4),)],
        gradcheck=False),
]  # fmt: skip

INTEGER_IN_PLACE = [
    Row("gcd_lcm_", lambda lib, a, b: (in_place("gcd_")(lib, a, b), in_place("lcm_")(lib, a, b),
                                      top_level_in_place("gcd_")(lib, a, b),
                                      top_level_in_place("lcm_")(lib, a, b)),
        [(ints(3, 4, low=-9, high=10), ints(4, low=-9, high=10))], dtypes=(None,), grad=False),
    Row("shift_", lambda lib, a, b: (in_place("bitwise_left_shift_")(lib, a, b),
                                    in_place("bitwise_right_shift_")(lib, a, b),
                                    in_place("bitwise_not_")(lib, a)),
        [(ints(3, 4), ints(4, low=0, high=4))], dtypes=(None,), grad=False),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS + IN_PLACE + INTEGER_IN_PLACE))
def test_row(row, sample):
    check_row(row, sample)


BINARY_OUT = ["copysign", "heaviside", "nextafter", "ldexp", "logaddexp", "logaddexp2", "fmax",
              "fmin"]  # fmt: skip


@pytest.mark.parametrize("name", BINARY_OUT)
def test_binary_out(name):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = np.where(rng.random(4) < 0.3, 0.0, rng.standard_normal(4)).astype(np.float32)
    results = []
    for lib in (torch, ember):
        out = lib.empty(0)
        ret = getattr(lib, name)(lib.tensor(a), lib.tensor(b), out=out)
        assert ret is out
        results.append(out.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)


def test_integer_and_unary_out():
    a, b = ints(3, 4, low=-9, high=10), ints(4, low=-9, high=10)
    x = r(3, 4).astype(np.float32)
    for lib_calls in (
        lambda lib, o: lib.gcd(lib.tensor(a), lib.tensor(b), out=o.long()),
        lambda lib, o: lib.lcm(lib.tensor(a), lib.tensor(b), out=o.long()),
        lambda lib, o: lib.rad2deg(lib.tensor(x), out=o),
        lambda lib, o: lib.fix(lib.tensor(x), out=o),
    ):
        got = [lib_calls(lib, lib.empty(0)).numpy() for lib in (torch, ember)]
        np.testing.assert_allclose(got[1], got[0], rtol=1e-6)


def test_frexp_out():
    x = away(3, 4)
    got = []
    for lib in (torch, ember):
        m, e = lib.empty(0, dtype=lib.float64), lib.empty(0, dtype=lib.int32)
        ret = lib.frexp(lib.tensor(x), out=(m, e))
        assert ret.mantissa is m and ret.exponent is e
        got.append((m.numpy(), e.numpy()))
    np.testing.assert_array_equal(got[1][0], got[0][0])
    np.testing.assert_array_equal(got[1][1], got[0][1])


def raises_like_torch(fn, match):
    """``fn(lib)`` raises the same exception type in both libraries; ember's names ``match``."""
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(expected.type, match=match):
        fn(ember)


F = np.array([1.0, -2.0, 0.0], np.float32)
I = np.array([1, -2, 0], np.int64)  # noqa: E741


@pytest.mark.parametrize(
    "fn,match",
    [
        (lambda lib: lib.gcd(lib.tensor(F), lib.tensor(F)), "gcd"),
        (lambda lib: lib.lcm(lib.tensor(I), 2), "lcm"),
        (lambda lib: lib.gcd(lib.tensor([True]), lib.tensor([True])), "gcd"),
        (lambda lib: lib.heaviside(lib.tensor(F), lib.tensor(I)), "heaviside"),
        (lambda lib: lib.heaviside(lib.tensor(F), 0.5), "heaviside"),
        (lambda lib: lib.nextafter(lib.tensor(I), lib.tensor(I)), "nextafter"),
        (lambda lib: lib.frexp(lib.tensor(I)), "frexp"),
        (lambda lib: lib.logaddexp(lib.tensor(I), lib.tensor(I)), "logaddexp"),
        (lambda lib: lib.logaddexp(lib.tensor(F), 1.0), "logaddexp"),
        (lambda lib: lib.fmax(lib.tensor([1j]), lib.tensor([1j])), "fmax"),
        (lambda lib: lib.fmin(lib.tensor(F), lib.tensor(F[:2])), "fmin"),
        (lambda lib: lib.rad2deg(lib.tensor([1j])), "rad2deg"),
        (lambda lib: lib.ldexp(lib.tensor(F), 2), "ldexp"),
        (lambda lib: lib.ldexp(lib.ones(2), lib.ones(3)), "ldexp"),
        (lambda lib: lib.gcd(lib.tensor(I), lib.tensor(I[:2])), "gcd"),
        (lambda lib: lib.tensor(F).float_power_(2), "float_power_"),
        (lambda lib: lib.tensor(I).rad2deg_(), "can't be cast"),
        (lambda lib: lib.tensor(I).copysign_(lib.tensor(I)), "can't be cast"),
    ],
)
def test_errors(fn, match):
    raises_like_torch(fn, match)


def test_heaviside_has_no_gradient():
    for lib in (torch, ember):
        x = lib.tensor(F, requires_grad=True)
        y = lib.heaviside(x, lib.tensor(F))
        assert not y.requires_grad or lib is torch  # torch records a node that raises


def test_in_place_on_leaf_requiring_grad_raises():
    for lib in (torch, ember):
        x = lib.tensor(F, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            x.rad2deg_()
