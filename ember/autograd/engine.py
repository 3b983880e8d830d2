"""The backward walk: iterative, over the nodes reachable from the roots, in topological order.

Edges are ``(node, output_nr)`` for a tensor made by an op and ``(leaf_tensor, -1)`` for a
leaf, whose gradient is accumulated into ``.grad``. No recursion, so a graph of any depth works.
"""

import sys
import weakref

import numpy as np

from ember._dtype import from_np
from ember._meta import MetaArray, meta_array
from ember._tensor import RemovableHandle, Tensor, wrap
from ember.autograd import anomaly_mode
from ember.autograd.function import _FREED
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.backends.numpy.threads import elementwise
from ember.backends.onednn import binary as onednn_binary


def _topological_order(root_nodes):
    """Nodes reachable from the roots, each before every node it sends gradients to."""
    post, seen = [], set()
    for root in root_nodes:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(_edges_of(root)))]
        while stack:
            node, it = stack[-1]
            for edge in it:
                if edge is None:
                    continue
                nxt = edge[0]
                if id(nxt) in seen:
                    continue
                seen.add(id(nxt))
                if edge[1] < 0:  # a leaf: no edges of its own, it is finished at once
                    post.append(nxt)
                    continue
                stack.append((nxt, iter(nxt._edges)))
                break
            else:
                stack.pop()
                post.append(node)
    post.reverse()
    return post


def _edges_of(node):
    return () if isinstance(node, Tensor) else node._edges


def _needed(order, targets):
    """Ids of the nodes from which some target node can be reached."""
    needed = set(targets)
    for node in reversed(order):
        if id(node) not in needed and any(
            e is not None and id(e[0]) in needed for e in _edges_of(node)
        ):
            needed.add(id(node))
    return needed


def _sum_to(grad, shape):
    """Sum a broadcast gradient back to ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(dim=dims, keepdim=True) if dims else grad
    return out.reshape(shape) if out.shape != shape else out


def _sole_owner(grad, references):
    """Whether nothing but the backward pass holds ``grad`` (a Tensor the caller reaches
    through ``references`` references, this call's argument included) and its array: no user
    variable, other Tensor, view or saved value shares the memory, so it may be written in
    place or kept as a ``.grad``. A view that covers the whole of an otherwise unreferenced
    array (a reshaped gradient) owns that memory too."""
    data = grad._data
    if sys.getrefcount(grad) > references + 1 or sys.getrefcount(data) > 3:
        return False  # counted: grad's slot, the local name and getrefcount's argument
    base = data.base
    if base is None:
        return data.flags.writeable
    source = grad._base  # the Tensor a view op's result keeps (for its version counter)
    holds = source is not None and source._data is base
    if holds and sys.getrefcount(source) > 3:  # grad's slot, the local name, the argument
        return False
    return (
        base.__class__ is np.ndarray
        and base.base is None
        and sys.getrefcount(base) <= 3 + holds  # data's .base, the local name, the argument
        and base.size == data.size
        and data.flags.writeable
    )


def _accumulate_into_leaf(leaf, grad, create_graph):
    if not create_graph:
        grad = grad.detach() if grad._requires_grad else grad
        # The same gradient object may go to several leaves (add's backward returns it twice);
        # each .grad must own its memory, since optimizers and clipping update it in place.
        if not _sole_owner(grad, 3):
            grad = wrap(grad._data.copy())
        elif grad._base is not None:
            grad = wrap(grad._data)  # a .grad of its own, not a view of the op's result
    if leaf.grad is None:
        leaf.grad = grad
    elif create_graph or GRAD_ENABLED[0]:
        leaf.grad = leaf.grad + grad
    else:
        g = leaf.grad._data
        if g.shape == grad._data.shape:
            _add_in_place(g, grad._data)
            leaf.grad._bump_version()
        else:
            leaf.grad = leaf.grad + grad


def run_backward(roots, root_grads, retain_graph, create_graph, inputs=None, accumulate=True):
    """Propagate ``root_grads`` from ``roots``; accumulate into leaves or return input grads."""
    buffers = {}
    root_nodes = []
    for t, g in zip(roots, root_grads):
        node, nr = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t, -1)
        _add_to_buffer(buffers, node, nr, g)
        root_nodes.append(node)
    order = _topological_order(root_nodes)

    captures = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            key = (id(t.grad_fn), t._output_nr) if t.grad_fn is not None else (id(t), -1)
            captures.setdefault(key, []).append(i)
        needed = _needed(order, {k[0] for k in captures})
        order = [n for n in order if id(n) in needed]
    results = [None] * (len(inputs) if inputs is not None else 0)

    prev_mode = GRAD_ENABLED[0]
    GRAD_ENABLED[0] = create_graph
    callbacks = []
    _FINAL_CALLBACKS.append(callbacks)
    try:
        for node in order:
            slot = buffers.pop(id(node), None)
            if slot is None:
                continue
            grads = slot[1]
            if isinstance(node, Tensor):
                g, grads[0] = grads[0], None  # the list's reference would make g look shared
                for hook in node._hooks or ():
                    new = hook(g)
                    g = g if new is None else new
                for i in captures.get((id(node), -1), ()):
                    results[i] = g
                if accumulate and (inputs is None or (id(node), -1) in captures):
                    _accumulate_into_leaf(node, g, create_graph)
                    for hook in _POST_ACCUMULATE_HOOKS.get(id(node), ()):
                        hook(node)
                continue
            _run_node(node, grads, buffers, captures, results, retain_graph)
        i = 0
        while i < len(callbacks):  # a callback may queue further callbacks
            callbacks[i]()
            i += 1
    finally:
        GRAD_ENABLED[0] = prev_mode
        _FINAL_CALLBACKS.pop()
    if accumulate and inputs is not None:
        for t, g in zip(inputs, results):
            if g is not None and t.grad_fn is not None:
                _accumulate_into_leaf(t, g, create_graph)
    return results


# One list per backward pass in progress (passes nest when a backward runs inside another).
_FINAL_CALLBACKS = []
# id(leaf) -> hooks called with the leaf after a gradient is accumulated into its .grad.
_POST_ACCUMULATE_HOOKS = {}


def queue_callback(callback):
    """Run ``callback()`` when the backward pass in progress has finished with every node."""
    if not _FINAL_CALLBACKS:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _FINAL_CALLBACKS[-1].append(callback)


def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(self)`` each time a gradient has been accumulated into ``self.grad``, for
    the leaf tensor ``self`` (bound as ``Tensor.register_post_accumulate_grad_hook``)."""
    tensor = self
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    hooks = _POST_ACCUMULATE_HOOKS.get(key)
    if hooks is None:
        hooks = _POST_ACCUMULATE_HOOKS[key] = []
        weakref.finalize(tensor, _POST_ACCUMULATE_HOOKS.pop, key, None)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def _run_node(node, grads, buffers, captures, results, retain_graph):
    hooks = node._out_hooks
    retain = node._retain_hooks
    if hooks or retain or captures:
        _output_hooks(node, grads, hooks, retain, captures, results)
    pre_hooks = node._node_pre_hooks
    if pre_hooks:
        for hook in pre_hooks:
            new = hook(tuple(grads))
            if new is not None:
                grads = list(new)
    for g in grads:
        if g is None:
            if node._materialize:
                _zero_fill(grads, node._out_meta)
            break
    out = node.backward(node, *grads)
    if out.__class__ is not tuple:
        out = out if isinstance(out, tuple) else (out,)
    edges = node._edges
    if len(out) != len(edges):
        _check_gradient_count(node, out, edges)
    if not retain_graph and node._saved is not None:
        node._saved = _FREED
    post_hooks = node._post_hooks
    if post_hooks:
        for hook in post_hooks:
            hook(out, tuple(grads))
    anomaly = anomaly_mode.ENABLED[0]
    for edge, g in zip(edges, out):
        if edge is None or g is None:
            continue
        if not isinstance(g, Tensor):
            g = wrap(np.asarray(g))
        data = g._data
        if data.shape != edge[2]:
            try:
                g = _sum_to(g, edge[2])
            except Exception:
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient: got shape "
                    f"{list(g.shape)} but expected shape compatible with {list(edge[2])}"
                ) from None
            data = g._data
        if data.dtype != edge[3]:
            g = g.to(from_np(edge[3]))
        if anomaly and np.isnan(g._data).any():
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its gradient. The forward "
                f"call that created it:\n{node._trace}"
            )
        _add_to_buffer(buffers, edge[0], edge[1], g)


def _output_hooks(node, grads, hooks, retain, captures, results):
    """Run the hooks registered on ``node``'s outputs, keep retained gradients, and capture
    the gradients ``autograd.grad`` asked for."""
    for nr, g in enumerate(grads):
        if g is None:
            continue
        if hooks and nr in hooks:
            for hook in hooks[nr]:
                new = hook(g)
                g = g if new is None else new
            grads[nr] = g
        if retain and nr in retain:
            retain[nr](g)
        for i in captures.get((id(node), nr), ()):
            results[i] = g


def _zero_fill(grads, out_meta):
    """Zeros for the outputs no gradient reached, on the device of each (meta stays meta)."""
    for nr, g in enumerate(grads):
        if g is None and out_meta[nr] is not None:
            shape, dtype, array_class = out_meta[nr]
            zeros = meta_array if array_class is MetaArray else np.zeros
            grads[nr] = wrap(zeros(shape, dtype))


def _check_gradient_count(node, out, edges):
    if any(e is not None for e in edges[len(out) :]) or any(
        g is not None for g in out[len(edges) :]
    ):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {len(edges)}, got {len(out)})"
        )


def _add_to_buffer(buffers, node, nr, g):
    slot = buffers.get(id(node))
    if slot is None:
        if nr < 0:
            buffers[id(node)] = (node, [g])
        else:
            grads = [None] * len(node._out_meta)
            grads[nr] = g
            buffers[id(node)] = (node, grads)
        return
    grads = slot[1]
    k = nr if nr > 0 else 0
    held = grads[k]
    if held is None:
        grads[k] = g
    elif (
        not GRAD_ENABLED[0]
        and held._data.__class__ is np.ndarray
        and held._data.shape == g._data.shape
        and held._data.dtype == g._data.dtype
        and _sole_owner(held, 3)  # the list, the local name and the argument
    ):
        _add_in_place(held._data, g._data)
    else:
        grads[k] = held + g


def _add_in_place(total, part):
    """total += part: on every core for large float32 arrays (oneDNN's binary add, the same
    IEEE sums; 1M elements 0.07 ms against NumPy's 0.11-0.14 on one core, where ember's own
    threads do not pay), else NumPy's add, split where that pays."""
    if total.dtype != part.dtype:
        np.add(total, part, out=total, casting="unsafe")
    elif onednn_binary.compute(np.add, total, part, out=total) is None:
        elementwise(np.add, total, part, out=total)


# -- the entry points: ember.autograd.backward and ember.autograd.grad -------------------------


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _make_root_grads(outputs, grad_outputs, op):
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.is_floating_point():
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            g = wrap(np.ones_like(out._data))
        elif not isinstance(g, Tensor):
            g = wrap(np.asarray(g, dtype=out._data.dtype))
        elif g.shape != out.shape:
            raise RuntimeError(
                f"{op}: Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                f"output[{i}] has a shape of {list(out.shape)}."
            )
        elif g.dtype != out.dtype:  # PyTorch casts a given gradient to its output's dtype
            g = g.to(out.dtype)
        grads.append(g)
    return grads


def _check_outputs_require_grad(outputs):
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    _check_outputs_require_grad(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    grads = _make_root_grads(tensors, grad_tensors, "backward")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    _check_outputs_require_grad(outputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) does not require grad"
            )
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_root_grads(outputs, grad_outputs, "grad")
    results = run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, r in enumerate(results):
        if r is None:
            if materialize_grads:
                results[i] = wrap(np.zeros_like(inputs[i]._data))
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
    return tuple(results)
