"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian over ember's autograd.

Each transform differentiates with respect to fresh graph nodes made for its own inputs, so
transforms nest (``grad(grad(f))``, ``jacrev(jacrev(f))``) without mixing up levels. When
an input already requires grad (an outer transform, or the user, is differentiating), or
the function reads a tensor requiring grad from outside, the result is built with
``create_graph`` and stays differentiable; otherwise it is detached.

Forward mode (``jvp``, ``jacfwd``) is computed by reverse mode: ``jvp`` through the double-vjp
identity (the vjp ``u -> J^T u`` is linear in ``u``, and its own vjp is ``t -> J t``), ``jacfwd``
row by row like ``jacrev``. The values are the same as PyTorch's; the cost is that of reverse
mode.
"""

import functools

from ember._ops.creation import ones_like, zeros, zeros_like
from ember._ops.shape import stack
from ember._tensor import Tensor
from ember.autograd import grad as autograd_grad
from ember.autograd.grad_mode import enable_grad, is_grad_enabled
from ember.func._tree import flatten, map_tensors, unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


def _tensors(value):
    return [v for v in flatten(value)[0] if isinstance(v, Tensor)]


def _tracking(*values):
    """Whether the caller differentiates through this transform's inputs."""
    return is_grad_enabled() and any(t.requires_grad for v in values for t in _tensors(v))


def _keeps_graph(args, outputs, fresh):
    """Whether results must stay differentiable: an input is differentiated by the caller, or
    the outputs depend on a tensor requiring grad from outside (a closure)."""
    if not is_grad_enabled():
        return False
    if _tracking(args):
        return True
    own = {id(t) for t in _tensors(fresh)}
    seen = set()
    pending = [o.grad_fn for o in _tensors(outputs) if o.grad_fn is not None]
    if any(o.requires_grad and o.grad_fn is None and id(o) not in own for o in _tensors(outputs)):
        return True
    while pending:
        for fn, _ in pending.pop().next_functions:
            if fn is None or id(fn) in seen:
                continue
            seen.add(id(fn))
            leaf = getattr(fn, "variable", None)
            if leaf is None:
                pending.append(fn)
            elif id(leaf) not in own:
                return True
    return False


def _fresh(t, op):
    """A new graph node for ``t``, connected to ``t`` when ``t`` is itself differentiated."""
    if not t.is_floating_point() and not t.is_complex():
        raise RuntimeError(
            f"{op}: only Tensors of floating point dtype can be differentiated, got an input "
            f"of dtype {t.dtype}"
        )
    if t.requires_grad:
        return t.view_as(t)
    return t.detach().requires_grad_(True)


def _differentiate(outputs, inputs, cotangents, create_graph, retain_graph=True):
    """Gradients of ``outputs`` (with ``cotangents``) for each of ``inputs``; zeros where unused.
    ``retain_graph=False`` frees the graph's saved tensors: for the last use of a graph."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not pairs or not inputs:
        return [zeros_like(t) for t in inputs]
    found = autograd_grad(
        [o for o, _ in pairs],
        inputs,
        [c for _, c in pairs],
        retain_graph=retain_graph or create_graph,
        create_graph=create_graph,
        allow_unused=True,
    )
    return [zeros_like(t) if g is None else g for g, t in zip(found, inputs)]


def _argnums(argnums, nargs, op):
    if isinstance(argnums, int):
        nums = (argnums,)
    elif isinstance(argnums, tuple) and argnums and all(isinstance(a, int) for a in argnums):
        nums = argnums
    else:
        raise RuntimeError(f"{op}: argnums must be int or Tuple[int, ...], got: {argnums!r}")
    fixed = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(
                f"{op}: Got argnums={a}, but only {nargs} positional inputs were given"
            )
        fixed.append(a % nargs)
    if len(set(fixed)) != len(fixed):
        raise RuntimeError(f"{op}: argnums must be unique, got {argnums!r}")
    return fixed


def _split_aux(result, has_aux, op):
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise RuntimeError(
            f"{op}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    for leaf in flatten(result[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(
                f"{op}: Expected tensors in aux, got unsupported type {type(leaf).__name__}"
            )
    return result[0], result[1]


def _finish(value, keep_graph):
    return value if keep_graph else map_tensors(lambda t: t.detach(), value)


def _prepared_call(func, args, kwargs, nums, op):
    """Call ``func`` with fresh nodes for the differentiated arguments (``nums``)."""
    args = list(args)
    for i in nums:
        args[i] = map_tensors(lambda t: _fresh(t, op), args[i])
    with enable_grad():
        result = func(*args, **kwargs)
    return result, [args[i] for i in nums]


def grad_and_value(func, argnums=0, has_aux=False):
    """``(gradient, value)`` of a function returning a scalar Tensor; with ``has_aux`` the
    function returns ``(value, aux)`` and the result is ``(gradient, (value, aux))``."""
    op = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), op)
        result, diff_args = _prepared_call(func, args, kwargs, nums, op)
        output, aux = _split_aux(result, has_aux, op)
        keep = _keeps_graph((args, kwargs), output, diff_args)
        if not isinstance(output, Tensor):
            raise RuntimeError(
                f"{op}: Expected f(*args) to return a Tensor, got {type(output).__name__}"
            )
        if output.dim() != 0:
            raise RuntimeError(
                f"{op}: Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        leaves, spec = flatten(diff_args)
        tensors = [v for v in leaves if isinstance(v, Tensor)]
        grads = iter(_differentiate([output], tensors, [ones_like(output)], keep, False))
        gradients = unflatten([next(grads) if isinstance(v, Tensor) else v for v in leaves], spec)
        gradients = gradients[0] if isinstance(argnums, int) else tuple(gradients)
        value = _finish(output, keep)
        if has_aux:
            return gradients, (value, _finish(aux, keep))
        return gradients, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a function returning a scalar Tensor, with respect to ``argnums``."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradients, value = both(*args, **kwargs)
        return (gradients, value[1]) if has_aux else gradients

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives one gradient per primal."""
    op = "vjp(f, *primals)"
    result, diff = _prepared_call(func, primals, {}, range(len(primals)), op)
    output, aux = _split_aux(result, has_aux, op)
    keep = _keeps_graph(primals, output, diff)
    out_leaves, out_spec = flatten(output)
    for v in out_leaves:
        if not isinstance(v, Tensor):
            raise RuntimeError(
                f"{op}: Expected f(*primals) to return only tensors, got unsupported type "
                f"{type(v).__name__}"
            )
    in_leaves, in_spec = flatten(tuple(diff))

    def vjp_fn(cotangents):
        ct_leaves, ct_spec = flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "vjp_fn: Expected cotangents to have the same structure as the output of f, "
                f"got {len(ct_leaves)} leaves for {len(out_leaves)} outputs"
            )
        for o, c in zip(out_leaves, ct_leaves):
            if not isinstance(c, Tensor) or tuple(c.shape) != tuple(o.shape):
                got = list(c.shape) if isinstance(c, Tensor) else type(c).__name__
                raise RuntimeError(
                    f"vjp_fn: Mismatch in shape: cotangent has a shape of {got} and the output "
                    f"has a shape of {list(o.shape)}"
                )
        create = is_grad_enabled() and (keep or any(c.requires_grad for c in ct_leaves))
        grads = iter(_differentiate(out_leaves, in_leaves, ct_leaves, create))
        return unflatten([next(grads) for _ in in_leaves], in_spec)

    value = _finish(output, keep)
    if has_aux:
        return value, vjp_fn, _finish(aux, keep)
    return value, vjp_fn


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``, by the double-vjp identity (see the module doc)."""
    op = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError(f"{op}: Expected primals and tangents to be tuples")
    p_leaves, p_spec = flatten(primals)
    t_leaves, t_spec = flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{op}: Expected primals and tangents to have the same structure")
    for p, t in zip(p_leaves, t_leaves):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                f"{op}: Expected primals and tangents to have the same shape, got "
                f"{list(p.shape)} and {list(t.shape)}"
            )
    result, diff = _prepared_call(func, primals, {}, range(len(primals)), op)
    output, aux = _split_aux(result, has_aux, op)
    keep = _keeps_graph((primals, tangents), output, diff)
    out_leaves, out_spec = flatten(output)
    in_leaves = flatten(tuple(diff))[0]
    with enable_grad():
        probes = [zeros_like(o).requires_grad_(True) for o in out_leaves]
        transposed = _differentiate(out_leaves, in_leaves, probes, create_graph=True)
        directional = _differentiate(transposed, probes, t_leaves, create_graph=keep)
    value = _finish(output, keep)
    tangent_out = unflatten(directional, out_spec)
    if has_aux:
        return value, _finish(tangent_out, keep), _finish(aux, keep)
    return value, _finish(tangent_out, keep)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``func`` for ``argnums``, one vector-Jacobian product per output element.

    For an output of shape ``S`` and an input of shape ``T`` the block has shape ``S + T``;
    several outputs or inputs give nested structures (outputs outside, inputs inside).
    """
    op = "jacrev(f)(*args)"
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"jacrev: `chunk_size` should be greater than 0, got {chunk_size}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _argnums(argnums, len(args), op)
        result, diff_args = _prepared_call(func, args, kwargs, nums, op)
        output, aux = _split_aux(result, has_aux, op)
        keep = _keeps_graph((args, kwargs), output, diff_args)
        out_leaves, out_spec = flatten(output)
        in_leaves, in_spec = flatten(diff_args)
        blocks = [_jacobian_rows(o, in_leaves, keep) for o in out_leaves]
        per_output = []
        for rows in blocks:
            per_input = unflatten(rows, in_spec)
            per_output.append(per_input[0] if isinstance(argnums, int) else tuple(per_input))
        jacobian = unflatten(per_output, out_spec)
        if has_aux:
            return jacobian, _finish(aux, keep)
        return jacobian

    return wrapper


def _jacobian_rows(output, inputs, keep):
    """For each input, d output / d input with shape ``output.shape + input.shape``."""
    if not isinstance(output, Tensor):
        raise RuntimeError(
            f"jacrev(f)(*args): Expected f to return Tensors, got {type(output).__name__}"
        )
    n = output.numel()
    rows = [[] for _ in inputs]
    for k in range(n):
        onehot = zeros(n, dtype=output.dtype)
        onehot[k] = 1
        for j, g in enumerate(
            _differentiate([output], inputs, [onehot.reshape(output.shape)], keep)
        ):
            rows[j].append(g)
    blocks = []
    for r, t in zip(rows, inputs):
        shape = tuple(output.shape) + tuple(t.shape)
        block = stack(r).reshape(shape) if r else zeros(shape, dtype=t.dtype)
        blocks.append(block if keep else block.detach())
    return blocks


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` for ``argnums``, laid out as ``jacrev``'s (computed by it)."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func, argnums=0):
    """The Hessian of a scalar function: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)
