"""ember.linalg's solvers and factorizations, and the torch-level legacy names, against torch."""

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def _e(a, requires_grad=False):
    return ember.tensor(a, requires_grad=requires_grad)


def _t(a, requires_grad=False):
    return torch.tensor(a, requires_grad=requires_grad)


def _close(e, t, rtol=1e-6, atol=1e-8):
    e_np = e.detach().numpy()
    t_np = t.detach().numpy()
    assert e_np.shape == t_np.shape, (e_np.shape, t_np.shape)
    assert e_np.dtype == t_np.dtype, (e_np.dtype, t_np.dtype)
    np.testing.assert_allclose(e_np, t_np, rtol=rtol, atol=atol)


def _well_conditioned(*shape):
    n = shape[-1]
    return RNG.standard_normal(shape) + n * np.eye(n)


def _spd(*shape):
    a = RNG.standard_normal(shape)
    return a @ a.swapaxes(-1, -2) + shape[-1] * np.eye(shape[-1])


def _grads_match(e_fn, t_fn, arrays, rtol=1e-6, atol=1e-8):
    """Forward and the gradients of sum(out * w) with respect to every input."""
    e_in = [_e(a, True) for a in arrays]
    t_in = [_t(a, True) for a in arrays]
    e_out, t_out = e_fn(*e_in), t_fn(*t_in)
    _close(e_out, t_out, rtol, atol)
    w = RNG.standard_normal(tuple(t_out.shape))
    (e_out * _e(w)).sum().backward()
    (t_out * _t(w)).sum().backward()
    for ei, ti in zip(e_in, t_in):
        _close(ei.grad, ti.grad, rtol, atol)


# -- values and gradients against torch ------------------------------------------------------


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular(upper, left, unit):
    A = _well_conditioned(2, 4, 4)
    B = RNG.standard_normal((2, 4, 3) if left else (2, 3, 4))
    kw = dict(upper=upper, left=left, unitriangular=unit)
    _grads_match(lambda a, b: ember.linalg.solve_triangular(a, b, **kw),
                 lambda a, b: torch.linalg.solve_triangular(a, b, **kw), [A, B])  # fmt: skip
    fn = lambda a, b: ember.linalg.solve_triangular(a, b, **kw)  # noqa: E731
    small_b = B[0, :, :2] if left else B[0, :2, :]
    assert gradgradcheck(fn, (_e(A[0], True), _e(small_b, True)))


def test_solve_triangular_singular_gives_inf_and_nan_as_torch():
    for A in (np.zeros((2, 2)), np.array([[1.0, 2, 3], [0, 0, 1], [0, 0, 2]])):
        for upper in (True, False):
            for left in (True, False):
                b = np.ones((2, A.shape[0], 2) if left else (2, 2, A.shape[0]))
                e = ember.linalg.solve_triangular(_e(A), _e(b), upper=upper, left=left)
                t = torch.linalg.solve_triangular(_t(A), _t(b), upper=upper, left=left)
                np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_lu_factor_raises_for_singular_as_torch():
    A = _e(np.ones((3, 3)))
    with pytest.raises(ember.linalg.LinAlgError, match=r"lu_factor: U\[2,2\] is zero"):
        ember.linalg.lu_factor(A)
    with pytest.raises(ember.linalg.LinAlgError, match=r"lu_factor_ex: U\[2,2\] is zero"):
        ember.linalg.lu_factor_ex(A, check_errors=True)
    _close(ember.linalg.lu_factor_ex(A).info, torch.linalg.lu_factor_ex(_t(np.ones((3, 3)))).info)


def test_solve_triangular_broadcasts_batches():
    A, B = _well_conditioned(3, 1, 4, 4), RNG.standard_normal((2, 4, 2))
    _grads_match(lambda a, b: ember.linalg.solve_triangular(a, b, upper=False),
                 lambda a, b: torch.linalg.solve_triangular(a, b, upper=False), [A, B])  # fmt: skip


def test_matrix_exp_values_and_gradients():
    A = RNG.standard_normal((2, 4, 4))
    _grads_match(ember.linalg.matrix_exp, torch.linalg.matrix_exp, [A])
    assert gradgradcheck(ember.matrix_exp, (_e(A[0], True),))
    _close(ember.tensor(A, dtype=ember.float32).matrix_exp(),
           torch.tensor(A, dtype=torch.float32).matrix_exp(), rtol=1e-4, atol=1e-5)  # fmt: skip


def test_matrix_exp_complex():
    A = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
    _close(ember.linalg.matrix_exp(_e(A)), torch.linalg.matrix_exp(_t(A)))
    assert gradcheck(ember.linalg.matrix_exp, (_e(A, True),))


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_and_solve_inverse(upper):
    A = _spd(2, 4, 4)
    L, info = ember.linalg.cholesky_ex(_e(A), upper=upper)
    Lt, info_t = torch.linalg.cholesky_ex(_t(A), upper=upper)
    _close(L, Lt)
    _close(info, info_t)
    B = RNG.standard_normal((2, 4, 3))
    _grads_match(lambda b, f: ember.cholesky_solve(b, f, upper),
                 lambda b, f: torch.cholesky_solve(b, f, upper), [B, Lt.numpy()])  # fmt: skip
    _grads_match(lambda f: ember.cholesky_inverse(f, upper),
                 lambda f: torch.cholesky_inverse(f, upper), [Lt[0].numpy()])  # fmt: skip


def test_cholesky_ex_gradient_and_info():
    A = _spd(3, 3)
    _grads_match(lambda a: ember.linalg.cholesky_ex(a).L,
                 lambda a: torch.linalg.cholesky_ex(a).L, [A])  # fmt: skip
    bad = np.stack([A, -A])
    L, info = ember.linalg.cholesky_ex(_e(bad))
    _, info_t = torch.linalg.cholesky_ex(_t(bad))
    _close(info, info_t)
    _close(L[0], torch.linalg.cholesky(_t(A)))
    with pytest.raises(ember.linalg.LinAlgError, match="positive-definite"):
        ember.linalg.cholesky_ex(_e(bad), check_errors=True)


def test_torch_cholesky_legacy_warns():
    A = _spd(3, 3)
    with pytest.warns(UserWarning, match="deprecated"):
        L = ember.cholesky(_e(A), upper=True)
    _close(L, torch.linalg.cholesky(_t(A), upper=True))


def test_inv_ex_and_solve_ex():
    A = np.stack([_well_conditioned(3, 3), np.ones((3, 3))])
    inv_e, info_e = ember.linalg.inv_ex(_e(A[:1]))
    inv_t, info_t = torch.linalg.inv_ex(_t(A[:1]))
    _close(inv_e, inv_t)
    _close(info_e, info_t)
    _close(ember.linalg.inv_ex(_e(A)).info, torch.linalg.inv_ex(_t(A)).info)
    with pytest.raises(ember.linalg.LinAlgError, match="singular"):
        ember.linalg.inv_ex(_e(A), check_errors=True)
    B = RNG.standard_normal((1, 3, 2))
    res, info = ember.linalg.solve_ex(_e(A[:1]), _e(B))
    res_t, info_t = torch.linalg.solve_ex(_t(A[:1]), _t(B))
    _close(res, res_t)
    _close(info, info_t)
    _close(ember.linalg.solve_ex(_e(A), _e(B)).info, torch.linalg.solve_ex(_t(A), _t(B)).info)


@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 5), (5, 3)])
def test_lu_factor_and_lu_values(shape):
    A = RNG.standard_normal(shape)
    LU, piv, info = ember.linalg.lu_factor_ex(_e(A))
    LUt, pivt, infot = torch.linalg.lu_factor_ex(_t(A))
    _close(LU, LUt)
    _close(piv, pivt)
    _close(info, infot)
    for e, t in zip(ember.linalg.lu(_e(A)), torch.linalg.lu(_t(A))):
        _close(e, t)
    for e, t in zip(ember.lu_unpack(LU, piv), torch.lu_unpack(LUt, pivt)):
        _close(e, t)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_lu_gradients(shape):
    A = RNG.standard_normal(shape)
    _grads_match(lambda a: ember.linalg.lu_factor(a).LU,
                 lambda a: torch.linalg.lu_factor(a).LU, [A])  # fmt: skip
    for i in (1, 2):
        _grads_match(lambda a, i=i: ember.linalg.lu(a)[i],
                     lambda a, i=i: torch.linalg.lu(a)[i], [A])  # fmt: skip
    assert gradcheck(lambda a: ember.linalg.lu(a).U, (_e(A, True),))
    assert gradgradcheck(lambda a: ember.linalg.lu_factor(a).LU, (_e(A, True),))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve(left, adjoint):
    A = RNG.standard_normal((2, 4, 4))
    B = RNG.standard_normal((2, 4, 3) if left else (2, 3, 4))
    LUt, pivt = torch.linalg.lu_factor(_t(A))
    piv = _e(pivt.numpy())
    _grads_match(lambda lu, b: ember.linalg.lu_solve(lu, piv, b, left=left, adjoint=adjoint),
                 lambda lu, b: torch.linalg.lu_solve(lu, pivt, b, left=left, adjoint=adjoint),
                 [LUt.numpy(), B])  # fmt: skip
    fn = lambda lu, b: ember.linalg.lu_solve(lu, piv[0], b, left=left, adjoint=adjoint)  # noqa: E731
    small_b = B[0, :, :2] if left else B[0, :2, :]
    assert gradgradcheck(fn, (_e(LUt.numpy()[0], True), _e(small_b, True)))


def test_legacy_lu_and_lu_solve():
    A, b = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 2))
    LU, piv, info = ember.lu(_e(A), get_infos=True)
    LUt, pivt, infot = torch.lu(_t(A), get_infos=True)
    for e, t in ((LU, LUt), (piv, pivt), (info, infot)):
        _close(e, t)
    _close(_e(b).lu_solve(LU, piv), _t(b).lu_solve(LUt, pivt))
    _close(_e(A).lu()[0], _t(A).lu()[0])


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl(hermitian):
    a = RNG.standard_normal((2, 4, 4))
    A = a + a.swapaxes(-1, -2)
    LD, piv, info = ember.linalg.ldl_factor_ex(_e(A), hermitian=hermitian)
    LDt, pivt, infot = torch.linalg.ldl_factor_ex(_t(A), hermitian=hermitian)
    _close(LD, LDt)
    _close(piv, pivt)
    _close(info, infot)
    B = RNG.standard_normal((2, 4, 3))
    X = ember.linalg.ldl_solve(LD, piv, _e(B), hermitian=hermitian)
    _close(X, torch.linalg.ldl_solve(LDt, pivt, _t(B), hermitian=hermitian))
    LD2, piv2 = ember.linalg.ldl_factor(_e(A))
    _close(LD2, torch.linalg.ldl_factor(_t(A)).LD)


def test_ldl_factor_complex_hermitian():
    a = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
    A = a + a.conj().T
    for e, t in zip(ember.linalg.ldl_factor(_e(A), hermitian=True),
                    torch.linalg.ldl_factor(_t(A), hermitian=True)):  # fmt: skip
        _close(e, t)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_lstsq_fields(driver, shape):
    A, B = RNG.standard_normal((2,) + shape), RNG.standard_normal((2, shape[0], 2))
    e = ember.linalg.lstsq(_e(A), _e(B), driver=driver)
    t = torch.linalg.lstsq(_t(A), _t(B), driver=driver)
    for name in ("solution", "residuals", "rank", "singular_values"):
        _close(getattr(e, name), getattr(t, name), rtol=1e-6, atol=1e-9)
    b = B[0, :, 0]  # one matrix and a vector right-hand side
    e = ember.linalg.lstsq(_e(A[0]), _e(b), driver=driver)
    t = torch.linalg.lstsq(_t(A[0]), _t(b), driver=driver)
    for name in ("solution", "residuals", "rank", "singular_values"):
        _close(getattr(e, name), getattr(t, name), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_lstsq_gradients(shape):
    A, B = RNG.standard_normal(shape), RNG.standard_normal((shape[0], 2))
    _grads_match(lambda a, b: ember.linalg.lstsq(a, b).solution,
                 lambda a, b: torch.linalg.lstsq(a, b).solution, [A, B])  # fmt: skip
    assert gradgradcheck(lambda a, b: ember.linalg.lstsq(a, b).solution,
                         (_e(A, True), _e(B, True)))  # fmt: skip


def _phase_fixed(v):
    """Eigenvectors with each column's first entry made real positive (LAPACK builds may
    differ by a unit phase)."""
    first = v[..., :1, :]
    return ember.tensor(v * (np.abs(first) / first))


def test_eig_and_eigvals():
    A = RNG.standard_normal((2, 4, 4))
    w, v = ember.linalg.eig(_e(A))
    wt, vt = torch.linalg.eig(_t(A))
    _close(w, wt)
    e_fixed, t_fixed = _phase_fixed(v.numpy()), _phase_fixed(vt.numpy())
    np.testing.assert_allclose(e_fixed.numpy(), t_fixed.numpy(), rtol=1e-6, atol=1e-8)
    _close(ember.linalg.eigvals(_e(A.astype(np.float32))),
           torch.linalg.eigvals(_t(A.astype(np.float32))), rtol=1e-4, atol=1e-5)  # fmt: skip
    _grads_match(lambda a: ember.linalg.eigvals(a).real, lambda a: torch.linalg.eigvals(a).real,
                 [A])  # fmt: skip

    def e_fn(a):
        w, v = ember.linalg.eig(a)
        return (w.abs() + (v * v.conj()).real.sum(-2)) + v[..., 0, :].abs()

    def t_fn(a):
        w, v = torch.linalg.eig(a)
        return (w.abs() + (v * v.conj()).real.sum(-2)) + v[..., 0, :].abs()

    _grads_match(e_fn, t_fn, [A])
    assert gradcheck(e_fn, (_e(A[0], True),))


def test_cond():
    A = _well_conditioned(2, 3, 3)
    for p in (None, 2, -2, "fro", "nuc", 1, -1, float("inf"), float("-inf")):
        _close(ember.linalg.cond(_e(A), p), torch.linalg.cond(_t(A), p))
    sing = np.stack([A[0], np.ones((3, 3))])
    _close(ember.linalg.cond(_e(sing), 1), torch.linalg.cond(_t(sing), 1))
    with pytest.raises(RuntimeError, match="linalg.cond"):
        ember.linalg.cond(_e(A), 3)


def test_small_composites():
    x, y = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((3, 4))
    _grads_match(ember.linalg.vecdot, torch.linalg.vecdot, [x, y])
    _close(ember.linalg.diagonal(_e(x), offset=1), torch.linalg.diagonal(_t(x), offset=1))
    _close(ember.linalg.matmul(_e(x), _e(y.T)), torch.linalg.matmul(_t(x), _t(y.T)))
    mats = [RNG.standard_normal(s) for s in ((4,), (4, 6), (6, 2), (2, 3), (3,))]
    _grads_match(lambda *m: ember.linalg.multi_dot(m), lambda *m: torch.linalg.multi_dot(m), mats)
    A = _well_conditioned(6, 6).reshape(2, 3, 6)
    _grads_match(lambda a: ember.linalg.tensorinv(a, ind=2),
                 lambda a: torch.linalg.tensorinv(a, ind=2), [A])  # fmt: skip
    A = _well_conditioned(6, 6).reshape(2, 3, 2, 3)
    B = RNG.standard_normal((2, 3))
    _grads_match(ember.linalg.tensorsolve, torch.linalg.tensorsolve, [A, B])
    A = _well_conditioned(6, 6).reshape(6, 2, 3)
    _close(ember.linalg.tensorsolve(_e(A), _e(B), dims=(0,)),
           torch.linalg.tensorsolve(_t(A), _t(B), dims=(0,)))  # fmt: skip


def test_vander():
    x = RNG.standard_normal((2, 4))
    _close(ember.linalg.vander(_e(x)), torch.linalg.vander(_t(x)))
    # torch 2.13's vander backward fails (an in-place write it records): finite differences
    assert gradcheck(ember.linalg.vander, (_e(x, True),))
    _close(ember.linalg.vander(_e(x), N=6), torch.linalg.vander(_t(x), N=6))
    xi = np.array([1, 2, 3])
    _close(ember.linalg.vander(_e(xi)), torch.linalg.vander(_t(xi)))


@pytest.mark.parametrize("shape", [(5, 3), (4, 4)])
def test_geqrf_householder_orgqr_ormqr(shape):
    A = RNG.standard_normal((2,) + shape)
    a, tau = ember.geqrf(_e(A))
    at, taut = torch.geqrf(_t(A))
    _close(a, at)
    _close(tau, taut)
    _grads_match(ember.linalg.householder_product, torch.linalg.householder_product,
                 [at.numpy(), taut.numpy()])  # fmt: skip
    _close(a.orgqr(tau), at.orgqr(taut))
    for left in (True, False):
        for transpose in (True, False):
            C = RNG.standard_normal((2, shape[0], 2) if left else (2, 2, shape[0]))
            _grads_match(lambda x, t, c, lt=(left, transpose): ember.ormqr(x, t, c, *lt),
                         lambda x, t, c, lt=(left, transpose): torch.ormqr(x, t, c, *lt),
                         [at.numpy(), taut.numpy(), C])  # fmt: skip


def test_legacy_svd_qr_pinverse_triangular_solve():
    A = RNG.standard_normal((2, 5, 3))
    for some in (True, False):
        U, S, V = ember.svd(_e(A), some=some)
        Ut, St, Vt = torch.svd(_t(A), some=some)
        _close(S, St)
        _close((U[..., :3] * S.unsqueeze(-2)) @ V[..., :3].mH, _t(A))
        assert tuple(V.shape) == tuple(Vt.shape) and tuple(U.shape) == tuple(Ut.shape)
        Q, R = ember.qr(_e(A), some=some)
        Qt, Rt = torch.qr(_t(A), some=some)
        _close(Q.abs(), Qt.abs())
        _close(R.abs(), Rt.abs())
    for e, t in zip(ember.svd(_e(A), compute_uv=False), torch.svd(_t(A), compute_uv=False)):
        _close(e, t)
    _close(_e(A).pinverse(), _t(A).pinverse())
    T = _well_conditioned(3, 3)
    b = RNG.standard_normal((3, 2))
    for upper in (True, False):
        for transpose in (True, False):
            e = ember.triangular_solve(_e(b), _e(T), upper, transpose)
            t = torch.triangular_solve(_t(b), _t(T), upper, transpose)
            _close(e.solution, t.solution)
            _close(e.cloned_coefficient, t.cloned_coefficient)


# -- errors ----------------------------------------------------------------------------------


def test_errors_name_the_op():
    sq, rect = _e(np.eye(3)), _e(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="solve_triangular.*square"):
        ember.linalg.solve_triangular(rect, sq, upper=True)
    with pytest.raises(RuntimeError, match="solve_triangular.*Incompatible shapes"):
        ember.linalg.solve_triangular(sq, rect, upper=True)
    with pytest.raises(RuntimeError, match="same dtype"):
        ember.linalg.solve_triangular(sq, sq.float(), upper=True)
    with pytest.raises(RuntimeError, match="matrix_exp.*floating point"):
        ember.linalg.matrix_exp(_e(np.eye(2, dtype=np.int64)))
    with pytest.raises(RuntimeError, match="lstsq.*driver"):
        ember.linalg.lstsq(sq, sq, driver="bogus")
    with pytest.raises(RuntimeError, match="lu.*without pivoting"):
        ember.linalg.lu_factor(sq, pivot=False)
    with pytest.raises(RuntimeError, match="multi_dot.*at least 2"):
        ember.linalg.multi_dot([sq])
    with pytest.raises(RuntimeError, match="multi_dot.*cannot be multiplied"):
        ember.linalg.multi_dot([sq, rect])
    with pytest.raises(RuntimeError, match="tensorinv"):
        ember.linalg.tensorinv(_e(np.ones((2, 3))), ind=1)
    with pytest.raises(RuntimeError, match="householder_product"):
        ember.linalg.householder_product(_e(np.ones((2, 3))), _e(np.ones(2)))
    with pytest.raises(RuntimeError, match="lu_solve.*pivots"):
        ember.linalg.lu_solve(sq, _e(np.ones(3, np.int64)), sq)
    with pytest.raises(RuntimeError, match="derivative for 'geqrf'"):
        ember.geqrf(_e(np.eye(3), True))[0].sum().backward()


def test_linalg_cholesky_is_differentiable():
    A = _spd(2, 3, 3)
    for upper in (False, True):
        _grads_match(lambda a, u=upper: ember.linalg.cholesky(a, upper=u),
                     lambda a, u=upper: torch.linalg.cholesky(a, upper=u), [A])  # fmt: skip
    assert gradgradcheck(lambda a: ember.linalg.cholesky(a + a.mT), (_e(A[0] / 2, True),))
    with pytest.raises(ember.linalg.LinAlgError, match="linalg.cholesky: .*order 2"):
        ember.linalg.cholesky(_e(np.array([[1.0, 2.0], [2.0, 1.0]])))


def test_tensor_methods():
    A, spd, b = _well_conditioned(3, 3), _spd(3, 3), RNG.standard_normal((3, 2))
    L = np.linalg.cholesky(spd)
    cases = [
        ("cholesky", A @ A.T + np.eye(3), ()),
        ("matrix_exp", A, ()),
        ("pinverse", A, ()),
        ("cholesky_inverse", L, ()),
        ("qr", A, ()),
        ("geqrf", A, ()),
    ]
    for name, x, args in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            e, t = getattr(_e(x), name)(*args), getattr(_t(x), name)(*args)
        for ei, ti in zip(e if isinstance(e, tuple) else (e,), t if isinstance(t, tuple) else (t,)):
            _close(ei.abs() if name == "qr" else ei, ti.abs() if name == "qr" else ti)
    _close(_e(b).cholesky_solve(_e(L)), _t(b).cholesky_solve(_t(L)))
    e, t = _e(b).triangular_solve(_e(A)), _t(b).triangular_solve(_t(A))
    _close(e.solution, t.solution)
    U, S, V = _e(A).svd()
    _close(S, _t(A).svd().S)
    a, tau = torch.geqrf(_t(A))
    _close(_e(a.numpy()).orgqr(_e(tau.numpy())), a.orgqr(tau))
    _close(_e(a.numpy()).ormqr(_e(tau.numpy()), _e(b)), a.ormqr(tau, _t(b)))


@pytest.mark.parametrize(
    "name, call",
    [
        ("qr", lambda a, b: ember.qr(a)),
        ("lu", lambda a, b: ember.lu(a)),
        ("lu_solve", lambda a, b: ember.lu_solve(b, *ember.linalg.lu_factor(a))),
        ("triangular_solve", lambda a, b: ember.triangular_solve(b, a)),
        ("cholesky", lambda a, b: ember.cholesky(a @ a.mT)),
    ],
)
def test_legacy_names_warn_as_torch(name, call):
    # torch warns once per process (TORCH_WARN_ONCE), so its text is not re-triggered here
    A, b = _well_conditioned(3, 3), RNG.standard_normal((3, 2))
    with pytest.warns(UserWarning, match=f"torch.{name} is deprecated in favor of torch.linalg"):
        call(_e(A), _e(b))


EMPTY_CASES = {
    "solve_triangular": lambda L, A, B: L.linalg.solve_triangular(A, B, upper=True),
    "matrix_exp": lambda L, A, B: L.linalg.matrix_exp(A),
    "cholesky_ex": lambda L, A, B: L.linalg.cholesky_ex(A)[1],
    "inv_ex": lambda L, A, B: L.linalg.inv_ex(A)[0],
    "lu_factor": lambda L, A, B: L.linalg.lu_factor(A)[0],
    "lu": lambda L, A, B: L.linalg.lu(A)[2],
    "lstsq": lambda L, A, B: L.linalg.lstsq(A, B)[0],
    "eigvals": lambda L, A, B: L.linalg.eigvals(A),
    "ldl_factor": lambda L, A, B: L.linalg.ldl_factor(A)[1],
    "cholesky_solve": lambda L, A, B: L.cholesky_solve(B, A),
    "cond": lambda L, A, B: L.linalg.cond(A),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 0)])
def test_empty_inputs(name, shape):
    A, B = np.zeros(shape), np.zeros(shape[:-1] + (2,))
    fn = EMPTY_CASES[name]
    _close(fn(ember, _e(A), _e(B)), fn(torch, _t(A), _t(B)))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(2, 5, 3), (4, 4), (3, 5)])
@pytest.mark.parametrize("full_matrices", [False, True])
def test_svd_gradients(dtype, shape, full_matrices):
    A = RNG.standard_normal(shape).astype(dtype)
    if dtype == np.complex128:
        A = A + 1j * RNG.standard_normal(shape)
    k = min(shape[-2:])
    w = RNG.standard_normal(shape[:-2] + (k,))

    def loss(lib, a):  # invariant to the phase of each singular pair
        u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
        phase_free = (u[..., :k].abs() ** 2 * lib.tensor(np.abs(A[..., :k]))).sum()
        return (s * lib.tensor(w)).sum() + phase_free + vh[..., :k, :].abs().sum()

    _grads_match(lambda a: loss(ember, a), lambda a: loss(torch, a), [A], rtol=1e-6, atol=1e-9)
    U, S, V = ember.svd(_e(A, True))
    assert U.requires_grad and V.requires_grad


def test_svd_gradcheck():
    A = RNG.standard_normal((4, 3))
    assert gradcheck(lambda a: ember.linalg.svd(a, full_matrices=False)[0].abs(), (_e(A, True),))
    assert gradgradcheck(lambda a: ember.linalg.svd(a, full_matrices=False)[1], (_e(A, True),))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradients(dtype, uplo):
    a = RNG.standard_normal((2, 4, 4)).astype(dtype)
    if dtype == np.complex128:
        a = a + 1j * RNG.standard_normal((2, 4, 4))
    A = a + a.conj().swapaxes(-1, -2)
    w = RNG.standard_normal((2, 4))

    def loss(lib, x):
        vals, vecs = lib.linalg.eigh(x, uplo)
        return (vals * lib.tensor(w)).sum() + (vecs.abs() ** 2 * lib.tensor(np.abs(A))).sum()

    _grads_match(lambda x: loss(ember, x), lambda x: loss(torch, x), [A])
    _grads_match(lambda x: ember.linalg.eigvalsh(x, uplo), lambda x: torch.linalg.eigvalsh(x, uplo),
                 [A])  # fmt: skip
    assert gradgradcheck(lambda x: ember.linalg.eigh(x + x.mT)[1].abs(), (_e(a[0].real, True),))


@pytest.mark.parametrize("shape, mode", [((2, 5, 3), "reduced"), ((4, 4), "reduced"),
                                         ((4, 4), "complete"), ((3, 5), "reduced"),
                                         ((3, 5), "complete")])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_qr_gradients(shape, mode, dtype):
    A = RNG.standard_normal(shape).astype(dtype)
    if dtype == np.complex128:
        A = A + 1j * RNG.standard_normal(shape)

    def loss(lib, x):
        q, r = lib.linalg.qr(x, mode)
        return (q.abs() * 2 + q.real).sum(-1).sum() + r.abs().sum() + r.real.sum()

    _grads_match(lambda x: loss(ember, x), lambda x: loss(torch, x), [A])
    assert gradgradcheck(lambda x: ember.linalg.qr(x, mode)[0].real, (_e(A, True),))


def test_qr_mode_r_and_errors():
    A = RNG.standard_normal((5, 3))
    q, r = ember.linalg.qr(_e(A), mode="r")
    _close(q, torch.linalg.qr(_t(A), mode="r").Q)
    _close(r, torch.linalg.qr(_t(A), mode="r").R)
    with pytest.raises(RuntimeError, match="mode='r'"):
        ember.linalg.qr(_e(A, True), mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        ember.linalg.qr(_e(A, True), mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="unrecognized mode"):
        ember.linalg.qr(_e(A), mode="full")


@pytest.mark.parametrize("shape", [(2, 5, 3), (4, 4), (3, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_pinv_values_and_gradients(shape, dtype):
    A = RNG.standard_normal(shape).astype(dtype)
    if dtype == np.complex128:
        A = A + 1j * RNG.standard_normal(shape)

    def fn(lib):
        if dtype == np.complex128:
            return lambda a: lib.view_as_real(lib.linalg.pinv(a))
        return lib.linalg.pinv

    _grads_match(fn(ember), fn(torch), [A])
    assert gradgradcheck(fn(ember), (_e(A, True),))
    _close(_e(A).pinverse(), _t(A).pinverse())


def test_pinv_tolerances_and_hermitian():
    u = np.linalg.qr(RNG.standard_normal((5, 5)))[0]
    A = (u * np.array([3.0, 1.0, 1e-3, 1e-9, 0.0])) @ u.T  # symmetric, singular values spread
    for kw in (dict(), dict(rtol=1e-2), dict(atol=0.5), dict(atol=1e-4, rtol=0.5),
               dict(hermitian=True), dict(hermitian=True, atol=1e-2)):  # fmt: skip
        # rtol: keeping the 1e-9 singular value makes the result ill-conditioned
        _close(ember.linalg.pinv(_e(A), **kw), torch.linalg.pinv(_t(A), **kw), 1e-4, 1e-6)
    _close(ember.linalg.pinv(_e(A), 1e-2), torch.linalg.pinv(_t(A), 1e-2), atol=1e-6)
