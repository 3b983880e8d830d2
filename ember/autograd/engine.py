"""The backward walk: iterative, over the nodes reachable from the roots, in topological order.

Edges are ``(node, output_nr)`` for a tensor made by an op and ``(leaf_tensor, -1)`` for a
leaf, whose gradient is accumulated into ``.grad``. No recursion, so a graph of any depth works.
"""

import sys
import weakref

import numpy as np

from ember._tensor import RemovableHandle, Tensor, wrap
from ember.autograd import anomaly_mode
from ember.autograd.function import _FREED
from ember.autograd.grad_mode import GRAD_ENABLED


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
                if edge is not None and id(edge[0]) not in seen:
                    seen.add(id(edge[0]))
                    stack.append((edge[0], iter(_edges_of(edge[0]))))
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


def _accumulate_into_leaf(leaf, grad, create_graph):
    if not create_graph:
        grad = grad.detach() if grad._requires_grad else grad
        # The same gradient object may go to several leaves (add's backward returns it twice);
        # each .grad must own its memory, since optimizers and clipping update it in place.
        if sys.getrefcount(grad) > 3 or grad._data.base is not None:
            grad = wrap(grad._data.copy())
    if leaf.grad is None:
        leaf.grad = grad
    elif create_graph or GRAD_ENABLED[0]:
        leaf.grad = leaf.grad + grad
    else:
        g = leaf.grad._data
        if g.shape == grad._data.shape:
            np.add(g, grad._data, out=g, casting="unsafe")
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
                g = grads[0]
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


def register_post_accumulate_grad_hook(tensor, hook):
    """Call ``hook(tensor)`` each time a gradient has been accumulated into ``tensor.grad``."""
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
    hooks = node.__dict__.get("_out_hooks")
    retain = node.__dict__.get("_retain_hooks")
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
    for hook in node.__dict__.get("_node_pre_hooks", ()):
        new = hook(tuple(grads))
        if new is not None:
            grads = list(new)
    if node.__dict__.get("_materialize", True):
        for nr, g in enumerate(grads):
            if g is None and node._out_meta[nr] is not None:
                shape, dtype = node._out_meta[nr]
                grads[nr] = wrap(np.zeros(shape, dtype))
    out = node.backward(node, *grads)
    if not isinstance(out, tuple):
        out = (out,)
    edges = node._edges
    if len(out) < len(edges):
        if any(e is not None for e in edges[len(out) :]):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(edges)}, got {len(out)})"
            )
    elif len(out) > len(edges) and any(g is not None for g in out[len(edges) :]):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {len(edges)}, got {len(out)})"
        )
    if not retain_graph and "_saved" in node.__dict__:
        node._saved = _FREED
    for hook in node.__dict__.get("_post_hooks", ()):
        hook(out, tuple(grads))
    for edge, g, meta in zip(edges, out, node._metas):
        if edge is None or g is None:
            continue
        if not isinstance(g, Tensor):
            g = wrap(np.asarray(g))
        shape, dtype = meta
        if g._data.shape != shape:
            try:
                g = _sum_to(g, shape)
            except Exception:
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient: got shape "
                    f"{list(g.shape)} but expected shape compatible with {list(shape)}"
                ) from None
        if g._data.dtype != dtype:
            g = g.to(_dtype_of(dtype))
        if anomaly_mode.ENABLED[0] and np.isnan(g._data).any():
            trace = node.__dict__.get("_trace", "")
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its gradient. The forward "
                f"call that created it:\n{trace}"
            )
        _add_to_buffer(buffers, edge[0], edge[1], g)


def _dtype_of(np_dtype):
    from ember._dtype import from_np

    return from_np(np_dtype)


def _add_to_buffer(buffers, node, nr, g):
    slot = buffers.get(id(node))
    if slot is None:
        n = 1 if nr < 0 else len(node._out_meta)
        slot = buffers[id(node)] = (node, [None] * n)
    grads = slot[1]
    k = max(nr, 0)
    grads[k] = g if grads[k] is None else grads[k] + g
