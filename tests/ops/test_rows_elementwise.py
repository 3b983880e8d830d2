"""Op table: arithmetic, operators, math functions, comparisons, logical and bitwise ops."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import away, binary, bools, ints, pos, prob, r, reseed, unary, unit

reseed(1)

U = dict(double_backward=True)

ARITHMETIC = [
    Row("add", lambda lib, a, b: lib.add(a, b), binary(), **U),
    Row("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5), binary(), **U),
    Row("sub", lambda lib, a, b: lib.sub(a, b, alpha=0.5), binary(), **U),
    Row("mul", lambda lib, a, b: lib.mul(a, b), binary(), **U),
    Row("div", lambda lib, a, b: lib.div(a, b), binary(r, pos), **U),
    Row("div_floor", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
        [(away(3, 4), pos(4))], grad=False),
    Row("div_trunc", lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
        [(away(3, 4), pos(4))], grad=False),
    Row("pow_tensor", lambda lib, a, b: lib.pow(a, b), binary(pos, r), **U),
    Row("pow_scalar", lambda lib, a: lib.pow(a, 3), unary(), **U),
    Row("pow_frac", lambda lib, a: a**1.5, unary(pos), **U),
    Row("rpow", lambda lib, a: 2.0**a, unary(), **U),
    Row("atan2", lambda lib, a, b: lib.atan2(a, b), binary(), **U),
    Row("maximum", lambda lib, a, b: lib.maximum(a, b), binary(), **U),
    Row("minimum", lambda lib, a, b: lib.minimum(a, b), binary(), **U),
    Row("remainder", lambda lib, a, b: lib.remainder(a, b), [(away(3, 4), pos(4) + 5)], **U),
    Row("fmod", lambda lib, a, b: lib.fmod(a, b), [(away(3, 4), pos(4) + 5)], **U),
    Row("floor_divide", lambda lib, a, b: lib.floor_divide(a, b), [(away(3, 4), pos(4) + 5)],
        grad=False),
    Row("neg", lambda lib, a: lib.neg(a), unary(), **U),
    Row("abs", lambda lib, a: lib.abs(a), unary(), **U),
    Row("sign", lambda lib, a: lib.sign(a), unary(), **U),
    Row("reciprocal", lambda lib, a: lib.reciprocal(a), unary(pos), **U),
    Row("square", lambda lib, a: lib.square(a), unary(), **U),
    Row("lerp_scalar", lambda lib, a, b: lib.lerp(a, b, 0.3), binary(), **U),
    Row("lerp_tensor", lambda lib, a, b, w: lib.lerp(a, b, w), [(r(3, 4), r(4), r(3, 1))], **U),
    Row("addcmul", lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5),
        [(r(3, 4), r(4), r(3, 1)), (r(), r(2), r(2))], **U),
    Row("addcdiv", lambda lib, a, b, c: lib.addcdiv(a, b, c, value=0.5),
        [(r(3, 4), r(4), pos(3, 1))], **U),
]  # fmt: skip

OPERATORS = [
    Row("op_add_radd", lambda lib, a: (a + 2, 2 + a, a + a), unary(), **U),
    Row("op_sub_rsub", lambda lib, a, b: (a - b, 1.5 - a, a - 1), binary(), **U),
    Row("op_mul_rmul", lambda lib, a: (a * 3, 3 * a), unary(), **U),
    Row("op_div_rdiv", lambda lib, a, b: (a / b, 2 / b, a / 4), binary(r, pos), **U),
    Row("op_pow", lambda lib, a, b: (a**b, a**2, 3**b), binary(pos, r), **U),
    Row("op_floordiv_mod", lambda lib, a: (a // 0.7, 2.5 // a, a % 0.7, 2.5 % a),
        [(pos(3, 4),)], grad=False),
    Row("op_neg_pos_abs", lambda lib, a: (-a, +a, abs(a)), unary(), **U),
    Row("op_compare", lambda lib, a, b: (a < b, a <= b, a > b, a >= b, a == b, a != b),
        binary(), grad=False),
    Row("op_compare_scalar", lambda lib, a: (a < 0, 0.5 <= a, a == 1, a != 1), unary(),
        grad=False),
    Row("op_bool", lambda lib, a, b: (a & b, a | b, a ^ b, ~a), [(bools(3, 4), bools(4))],
        dtypes=(None,), grad=False),
    Row("op_bitwise", lambda lib, a, b: (a & b, a | b, a ^ b, ~a, a << 2, a >> 1),
        [(ints(3, 4, low=0), ints(4, low=0, high=4))], dtypes=(None,), grad=False),
    Row("op_int_arith", lambda lib, a, b: (a + b, a - b, a * b, a / b, a // b, a % b, a**2),
        [(ints(3, 4), ints(4, low=1))], dtypes=(None,), grad=False),
]  # fmt: skip

# PyTorch's promotion rules, which differ from NumPy's in several places.
PROMOTION = [
    Row("promote_int_times_float_scalar", lambda lib, a: (a * 2.5, a + 1, a / 2, 2.5 - a),
        [(ints(3, 4),), (ints(),)], dtypes=(None,), grad=False),
    Row("promote_float32_plus_scalar", lambda lib, a: (a + 1.5, a * 2, a**2.0, 1e40 * a * 0),
        [(r(3, 4).astype(np.float32),)], dtypes=(None,), grad=False),
    Row("promote_mixed_tensors", lambda lib, a, b, c, d: (a + b, a * c, b + c, d + d, d * a,
                                                          c + d, a * b.double()),
        [(ints(3), r(3).astype(np.float32), ints(3, dtype=np.int32), bools(3))],
        dtypes=(None,), grad=False),
    Row("promote_small_ints", lambda lib, a, b: (a + b, a * 3, b - 200, a + a),
        [(ints(4, low=0, high=9, dtype=np.uint8), ints(4, dtype=np.int8))], dtypes=(None,),
        grad=False),
    Row("promote_zero_dim_is_weaker", lambda lib, a, b, c: (a + b, c + b, a + c),
        [(r(3).astype(np.float32), r().astype(np.float64), ints(3))], dtypes=(None,),
        grad=False),
    Row("promote_half", lambda lib, a, b: (a + b, a * 2.0, a + 1),
        [(r(3).astype(np.float16), r(3).astype(np.float32))], dtypes=(None,), grad=False,
        rtol=1e-3, atol=1e-3),
    Row("promote_int_unary_to_float", lambda lib, a: (a.exp(), a.sin(), lib.sqrt(a.abs()),
                                                      a.sigmoid(), a.abs(), -a, a.sign()),
        [(ints(3, 4),), (ints(4, dtype=np.int32),)], dtypes=(None,), grad=False),
    Row("promote_int_rounding_keeps_int", lambda lib, a: (a.floor(), a.ceil(), a.trunc(),
                                                          a.round(), a.square()),
        [(ints(3, 4),)], dtypes=(None,), grad=False),
]  # fmt: skip

MATH = [
    Row("exp", lambda lib, a: lib.exp(a), unary(), **U),
    Row("exp2", lambda lib, a: lib.exp2(a), unary(), **U),
    Row("expm1", lambda lib, a: lib.expm1(a), unary(), **U),
    Row("log", lambda lib, a: lib.log(a), unary(pos), **U),
    Row("log2", lambda lib, a: lib.log2(a), unary(pos), **U),
    Row("log10", lambda lib, a: lib.log10(a), unary(pos), **U),
    Row("log1p", lambda lib, a: lib.log1p(a), unary(pos), **U),
    Row("sqrt", lambda lib, a: lib.sqrt(a), unary(pos), **U),
    Row("rsqrt", lambda lib, a: lib.rsqrt(a), unary(pos), **U),
    Row("sin", lambda lib, a: lib.sin(a), unary(), **U),
    Row("cos", lambda lib, a: lib.cos(a), unary(), **U),
    Row("tan", lambda lib, a: lib.tan(a), unary(unit), **U),
    Row("asin", lambda lib, a: lib.asin(a), unary(unit), **U),
    Row("acos", lambda lib, a: lib.acos(a), unary(unit), **U),
    Row("atan", lambda lib, a: lib.atan(a), unary(), **U),
    Row("sinh", lambda lib, a: lib.sinh(a), unary(), **U),
    Row("cosh", lambda lib, a: lib.cosh(a), unary(), **U),
    Row("tanh", lambda lib, a: lib.tanh(a), unary(), **U),
    Row("asinh", lambda lib, a: lib.asinh(a), unary(), **U),
    Row("acosh", lambda lib, a: lib.acosh(a), unary(lambda *s: pos(*s) + 1), **U),
    Row("atanh", lambda lib, a: lib.atanh(a), unary(unit), **U),
    Row("arc_aliases", lambda lib, a: (lib.arcsin(a), lib.arccos(a), lib.arctan(a),
                                       lib.arcsinh(a), lib.arctanh(a)), [(unit(3, 4),)]),
    Row("sigmoid", lambda lib, a: lib.sigmoid(a), unary(), **U),
    Row("sigmoid_large", lambda lib, a: lib.sigmoid(a * 100), [(r(3, 4),)], gradcheck=False),
    Row("logit", lambda lib, a: lib.logit(a), unary(prob), **U),
    Row("erf", lambda lib, a: lib.erf(a), unary(), **U),
    Row("erfc", lambda lib, a: lib.erfc(a), unary(), **U),
    Row("erfinv", lambda lib, a: lib.erfinv(a), unary(unit), **U),
    Row("floor", lambda lib, a: lib.floor(a), unary(away), **U),
    Row("ceil", lambda lib, a: lib.ceil(a), unary(away), **U),
    Row("round", lambda lib, a: lib.round(a), unary(away), **U),
    Row("round_half_even", lambda lib, a: lib.round(a),
        [(np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]),)], gradcheck=False),
    Row("round_decimals", lambda lib, a: lib.round(a, decimals=2), [(r(3, 4),)],
        gradcheck=False, atol=1e-5),
    Row("trunc", lambda lib, a: lib.trunc(a), unary(away), **U),
    Row("frac", lambda lib, a: lib.frac(a), unary(away), **U),
    Row("clamp", lambda lib, a: lib.clamp(a, min=-0.5, max=0.5), unary(away), **U),
    Row("clamp_min_only", lambda lib, a: (lib.clamp(a, min=0.25), a.clamp_min(0.25),
                                          a.clamp_max(0.25)), unary(away), **U),
    Row("clamp_tensor_bounds", lambda lib, a, lo, hi: lib.clamp(a, lo, hi),
        [(away(3, 4), away(4) - 1, away(3, 1) + 1)], **U),
    Row("clamp_crossed_bounds", lambda lib, a, lo, hi: lib.clamp(a, lo, hi),
        [(np.array([0.0, 2.0, 1.0, 0.2]), np.array([1.5, 1.5, 0.5, 0.1]),
          np.array([1.0, 1.0, 0.8, 0.9]))], **U),
    Row("clip", lambda lib, a: lib.clip(a, -0.5, 0.5), unary(away), **U),
    Row("clamp_int", lambda lib, a: lib.clamp(a, -2, 2), [(ints(3, 4),)], dtypes=(None,),
        grad=False),
    Row("where", lambda lib, c, a, b: lib.where(c, a, b),
        [(bools(3, 4), r(3, 4), r(4)), (bools(4), r(3, 1), r()), (bools(0, 2), r(0, 2), r(2))],
        **U),
    Row("where_scalar", lambda lib, a: lib.where(a > 0, a, 0.0), unary(), **U),
    Row("where_mixed_dtype", lambda lib, c, a, b: lib.where(c, a, b),
        [(bools(3), ints(3), r(3).astype(np.float32))], dtypes=(None,), grad=False),
    Row("where_one_arg", lambda lib, c: lib.where(c), [(bools(3, 4),)], grad=False,
        dtypes=(None,)),
    Row("nan_to_num", lambda lib, a: lib.nan_to_num(a, nan=0.5, posinf=9.0, neginf=-9.0),
        [(np.array([[1.0, np.nan, np.inf], [-np.inf, -2.0, 0.25]]),)], gradcheck=False),
    Row("nan_to_num_default", lambda lib, a: lib.nan_to_num(a),
        [(np.array([1.0, np.nan, np.inf, -np.inf]),)], grad=False),
]  # fmt: skip

PREDICATES = [
    Row("isnan_isinf_isfinite", lambda lib, a: (lib.isnan(a), lib.isinf(a), lib.isfinite(a)),
        [(np.array([[1.0, np.nan, np.inf], [-np.inf, -2.0, 0.0]]),), (r(0),)], grad=False),
    Row("isfinite_int", lambda lib, a: (lib.isnan(a), lib.isfinite(a)), [(ints(4),)],
        dtypes=(None,), grad=False),
    Row("compare_fns", lambda lib, a, b: (lib.eq(a, b), lib.ne(a, b), lib.lt(a, b),
                                          lib.le(a, b), lib.gt(a, b), lib.ge(a, b)),
        binary(), grad=False),
    Row("compare_int_float", lambda lib, a, b: (lib.eq(a, b), lib.lt(a, b), a > 1.5),
        [(ints(3, 4), r(4))], grad=False),
    Row("logical", lambda lib, a, b: (lib.logical_and(a, b), lib.logical_or(a, b),
                                      lib.logical_xor(a, b), lib.logical_not(a)),
        [(bools(3, 4), bools(4)), (r(3, 4), ints(4))], grad=False),
    Row("bitwise", lambda lib, a, b: (lib.bitwise_and(a, b), lib.bitwise_or(a, b),
                                      lib.bitwise_xor(a, b), lib.bitwise_not(a),
                                      lib.bitwise_left_shift(a, b),
                                      lib.bitwise_right_shift(a, b)),
        [(ints(3, 4, low=0), ints(4, low=0, high=4)),
         (ints(3, dtype=np.uint8, low=0), ints(3, dtype=np.uint8, low=0, high=3))],
        dtypes=(None,), grad=False),
    Row("bitwise_bool", lambda lib, a, b: (lib.bitwise_and(a, b), lib.bitwise_not(a)),
        [(bools(3, 4), bools(4))], dtypes=(None,), grad=False),
    Row("allclose_equal", lambda lib, a, b: lib.tensor([
        lib.allclose(a, b), lib.allclose(a, a), lib.allclose(a, a + 1e-9), lib.equal(a, a),
        lib.equal(a, b), lib.equal(a, a[:1])]), [(r(3, 4), r(3, 4))], grad=False),
]  # fmt: skip

ROWS = ARITHMETIC + OPERATORS + PROMOTION + MATH + PREDICATES


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)


# Half and bfloat16: forward values and dtypes at their precision.
LOW = dict(dtypes=("float16", "bfloat16"), grad=False, rtol=2e-2, atol=2e-2)
LOW_PRECISION = [
    Row("low_arith", lambda lib, a, b: (a + b, a * b, a - 1.5, a / (b.abs() + 1), -a, a * 2.5),
        binary(), **LOW),
    Row("low_math", lambda lib, a: (a.exp(), a.tanh(), a.sigmoid(), a.abs().sqrt(), a.sin(),
                                    a.clamp(-0.5, 0.5), a.floor(), a > 0),
        unary(), **LOW),
    Row("low_mixed", lambda lib, a, b: (a + b.float(), a * b.double()), [(r(3), r(3))], **LOW),
    Row("low_reduce", lambda lib, a: (a.sum(), a.mean(0), a.amax(1), a.cumsum(1)), [(r(3, 4),)],
        **LOW),
    Row("low_matmul", lambda lib, a, b: a @ b, [(r(3, 4), r(4, 2))], **LOW),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(LOW_PRECISION))
def test_low_precision_row(row, sample):
    check_row(row, sample)
