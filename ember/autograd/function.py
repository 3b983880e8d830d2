"""Function: one differentiable operation, with its forward and backward side by side.

An op class is also the class of its graph node: ``apply`` makes an instance (the ``ctx``),
runs ``forward``, and when a gradient is needed attaches the instance to the outputs as their
``grad_fn``. The engine later calls ``backward`` on the same instance.

``Function`` follows PyTorch: forward receives Tensors. ``ArrayFunction`` is how ember's own
ops are written: forward receives the backing arrays (no Tensor wrapping on the hot path),
and arrays it saves are mapped back to the Tensors they came from, so backward formulas,
written with ember ops, are themselves differentiable.
"""

import functools
import traceback

import numpy as np

from ember._meta import SEEN as META_SEEN
from ember._meta import MetaArray, as_meta_if_viewed, forward_on_meta, meta_backward
from ember._tensor import Tensor, wrap
from ember.autograd import anomaly_mode
from ember.autograd.grad_mode import GRAD_ENABLED, no_grad

PROFILER = [None]
"""The active ``autograd.profiler.profile`` recorder, or None: ``apply`` reports to it."""

__all__ = ["Function", "ArrayFunction", "FunctionCtx", "once_differentiable"]

# Looked up once, as every op reads them (CPython does not cache ``np.<name>`` reads: NumPy's
# module defines ``__getattr__``).
_ndarray = np.ndarray
_new = object.__new__  # a bare instance, without ``__init__``

_FREED = object()
_SAVED_NONE = object()  # a None passed to save_for_backward, kept apart from packed values


class _SavedOutput:
    """An output its own node saved, kept without the Tensor around it.

    The Tensor holds the node as its ``grad_fn``; the node holding the Tensor would make a
    reference cycle, which only Python's garbage collector frees: an output dropped without
    a backward (a forward pass with grad enabled, as evaluation loops often run) would keep
    its memory until the next collection, and each collection would hand back many large
    buffers at once for the next ops to fault in again. Unpacking builds the Tensor anew
    (same array, version counter and node), as PyTorch rebuilds its saved outputs.
    """

    __slots__ = ("_data", "_vc", "_output_nr", "_base")

    def __init__(self, out):
        self._data, self._vc, self._output_nr, self._base = (
            out._data, out._vc, out._output_nr, out._base
        )  # fmt: skip

    def tensor(self, node):
        t = wrap(self._data)
        t._vc, t._output_nr, t._base = self._vc, self._output_nr, self._base
        t._requires_grad, t.grad_fn = True, node
        return t


SAVED_TENSORS_HOOKS = []
"""Active ``(pack, unpack)`` pairs of ``autograd.graph.saved_tensors_hooks``; the last packs."""
_DIFFERENTIABLE_KINDS = frozenset("fcV")  # V: ml_dtypes' bfloat16


class FunctionCtx:
    """State shared by a node's forward and backward (the ``ctx`` argument)."""

    _array_inputs = False
    _is_view = False
    _multiple_views = False  # returns several views (split): they refuse in-place changes
    # Defaults read on every node (an instance sets its own only when it differs).
    _to_save = None  # what forward passed to save_for_backward, until apply resolves it
    _saved = None  # the saved Tensors; _FREED once backward has run without retain_graph
    _unpack = None  # the unpack hook of the saved_tensors_hooks active when saving
    _non_diff = frozenset()  # ids of the outputs marked non-differentiable
    _materialize = True
    _trace = ""  # where forward was called, kept in anomaly mode
    _post_hooks = _node_pre_hooks = _out_hooks = _retain_hooks = None

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        self._to_save_forward = tensors

    def mark_non_differentiable(self, *outputs):
        self._non_diff = {id(o) for o in outputs}

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is _FREED:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward."
            )
        if saved is None:
            return ()
        unpack = self._unpack
        if unpack is not None:
            return tuple(None if p is _SAVED_NONE else _unpacked(unpack, p) for p in saved)
        for t, version in zip(saved, self._saved_versions):
            if t is not None and version is not None and t._vc[0] != version:
                if t.__class__ is _SavedOutput:
                    t = t.tensor(self)
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype} {list(t.shape)}], which is used by "
                    f"{self.name()}, is at version {t._vc[0]}; expected version {version} "
                    "instead. Hint: replace the in-place operation by an out-of-place one."
                )
        if any(t.__class__ is _SavedOutput for t in saved):
            return tuple(t.tensor(self) if t.__class__ is _SavedOutput else t for t in saved)
        return saved

    @property
    def saved_variables(self):
        return self.saved_tensors

    @classmethod
    def name(cls):
        return cls.__name__ + "Backward0"

    @property
    def next_functions(self):
        return tuple(
            (None, 0) if e is None else (e[0] if e[1] >= 0 else _AccumulateGradView(e[0]), e[1])
            for e in self._edges
        )

    def register_hook(self, hook):
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)

    def register_prehook(self, hook):
        if self._node_pre_hooks is None:
            self._node_pre_hooks = []
        self._node_pre_hooks.append(hook)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class _AccumulateGradView:
    """What ``next_functions`` shows for a leaf, as PyTorch's AccumulateGrad node."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad object>"


class Function(FunctionCtx):
    """Base of differentiable operations; subclass with static ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        if PROFILER[0] is not None:
            recorder = PROFILER[0]
            if recorder.entered is None:
                return recorder.record(cls, args, kwargs)
            recorder.entered = None
        ctx = _new(cls)
        # One pass over the arguments: their arrays and, while grad mode records, which need a
        # gradient and the graph edge of each (``_edge`` written out: this runs for every op).
        arrays = []
        needs_grad = False
        if GRAD_ENABLED[0]:
            needs = []
            edges = []
            for a in args:
                if isinstance(a, Tensor):
                    d = a._data
                    arrays.append(d)
                    if a._requires_grad:
                        fn = a.grad_fn
                        edges.append((a, -1, d.shape, d.dtype) if fn is None else
                                     (fn, a._output_nr, d.shape, d.dtype))  # fmt: skip
                        needs.append(True)
                        needs_grad = True
                        continue
                else:
                    arrays.append(a)
                edges.append(None)
                needs.append(False)
        else:
            for a in args:  # (a loop: a comprehension costs a function call here)
                arrays.append(a._data if isinstance(a, Tensor) else a)
        if needs_grad:
            ctx.needs_input_grad = tuple(needs)
            ctx._edges = edges
        else:
            n = len(args)
            ctx.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
        if cls._array_inputs:
            if META_SEEN[0] and MetaArray in map(type, arrays):
                tensors = [a._data for a in args if isinstance(a, Tensor)]
                raw = forward_on_meta(cls.__name__, cls.forward, ctx, arrays, tensors, kwargs)
                ctx.backward = meta_backward(cls.backward, wrap)
            elif kwargs:
                raw = cls.forward(ctx, *arrays, **kwargs)
            else:
                raw = cls.forward(ctx, *arrays)
        else:
            prev, GRAD_ENABLED[0] = GRAD_ENABLED[0], False
            try:
                raw = cls.forward(ctx, *args, **kwargs)
            finally:
                GRAD_ENABLED[0] = prev
        if raw.__class__ is _ndarray:
            # (without grad, ctx and what forward saved in it go now)
            out = _recorded_output(ctx, args, raw) if needs_grad else wrap(raw)
            if cls._is_view:
                share_version(out, args[0])
            return out
        return _outputs(cls, ctx, args, raw, needs_grad)


def _outputs(cls, ctx, args, raw, needs_grad):
    """The Tensors around what forward returned (a tuple, None in it, a Tensor, a scalar or an
    array of another library), connected to ``ctx`` when a gradient is needed."""
    single = not isinstance(raw, tuple)
    raws = (raw,) if single else raw
    outs = tuple([_as_output(r) for r in raws])
    if needs_grad:
        _connect(ctx, args, raws, outs)
    if cls._is_view:
        for o in outs:
            if o is not None:
                share_version(o, args[0])
    return outs[0] if single else outs


def _edge(t, d):
    """The graph edge of Tensor ``t`` (array ``d``) that needs a gradient: its node and output
    number, or the leaf itself and -1, with the shape and dtype its gradient is summed and cast
    back to."""
    fn = t.grad_fn
    return (t, -1, d.shape, d.dtype) if fn is None else (fn, t._output_nr, d.shape, d.dtype)


def share_version(view, src):
    """A view op's output shares its input's version counter and remembers its base."""
    view._vc = src._vc
    view._base = src._base if src._base is not None else src


def untracked(t):
    """Whether an op on ``t`` alone records nothing (``t`` needs no gradient and no profiler
    listens) and computes on a plain NumPy array: a view op may then give its view directly,
    without a node (see `untracked_view`)."""
    return not t._requires_grad and t._data.__class__ is _ndarray and PROFILER[0] is None


def untracked_view(src, array):
    """The tensor a view op gives around ``array``, a view of ``src``'s array, where
    ``untracked(src)``: what ``apply`` would give, without building its node."""
    out = wrap(array)
    share_version(out, src)
    return out


_NO_GRADS = [(False,) * n for n in range(8)]


def _as_output(r):
    if r is None or isinstance(r, Tensor):
        return r if r is None else wrap(r._data)
    if isinstance(r, np.ndarray):
        return wrap(r)
    return wrap(np.asarray(r))


def _connect(ctx, args, raws, outs):
    """After forward: make ``ctx`` the grad_fn of the differentiable outputs and resolve
    what it saved."""
    non_diff = ctx._non_diff
    out_meta = []
    nr = 0
    for o in outs:
        if o is None:
            out_meta.append(None)
        else:
            od = o._data
            dt = od.dtype
            out_meta.append((od.shape, dt, od.__class__))
            if dt.kind in _DIFFERENTIABLE_KINDS and not (non_diff and id(raws[nr]) in non_diff):
                o._requires_grad = True
                o.grad_fn = ctx
                o._output_nr = nr
        nr += 1
    ctx._out_meta = out_meta
    if anomaly_mode.ENABLED[0]:
        ctx._trace = "".join(traceback.format_stack()[:-3])
    to_save = ctx._to_save
    if to_save is None:
        return
    ctx._to_save = None
    saved = [None if s is None else _resolve_saved(s, args, raws, outs) for s in to_save]
    _keep_saved(ctx, saved)


def _recorded_output(ctx, args, raw):
    """The Tensor around ``raw``, forward's one array output, with ``ctx`` as its grad_fn:
    ``_connect`` written out for the most common case (this runs for nearly every op)."""
    data = as_meta_if_viewed(raw) if META_SEEN[0] and raw.base.__class__ is MetaArray else raw
    dt = data.dtype
    out = _new(Tensor)
    out._data = data
    if dt.kind in _DIFFERENTIABLE_KINDS and not (ctx._non_diff and id(raw) in ctx._non_diff):
        out._requires_grad = True
        out.grad_fn = ctx
    else:
        out._requires_grad = False
        out.grad_fn = None
    out.grad = None
    out._output_nr = 0
    out._vc = [0]
    out._base = None
    out._hooks = None
    out._retains_grad = False
    ctx._out_meta = ((data.shape, dt, data.__class__),)
    if anomaly_mode.ENABLED[0]:
        ctx._trace = "".join(traceback.format_stack()[:-3])
    to_save = ctx._to_save
    if to_save is None:
        return out
    ctx._to_save = None
    saved = []
    versions = []
    for s in to_save:
        if s is None:
            saved.append(None)
            versions.append(None)
            continue
        if s is raw:
            t = _SavedOutput(out) if out.grad_fn is ctx and not SAVED_TENSORS_HOOKS else out
        else:
            for t in args:  # most often an input's array
                if isinstance(t, Tensor) and t._data is s:
                    break
            else:
                t = _resolve_saved(s, args, (raw,), (out,))
        saved.append(t)
        versions.append(t._vc[0])
    if SAVED_TENSORS_HOOKS:
        _keep_saved(ctx, saved)
    else:
        ctx._saved = tuple(saved)
        ctx._saved_versions = versions
    return out


def _keep_saved(ctx, saved):
    """Store the resolved saved Tensors on ``ctx``: packed by the active saved-tensor hooks,
    or as they are with the version each has now (backward checks it is unchanged)."""
    if SAVED_TENSORS_HOOKS:
        pack, ctx._unpack = SAVED_TENSORS_HOOKS[-1]
        ctx._saved = tuple([_SAVED_NONE if t is None else pack(t) for t in saved])
    else:
        ctx._saved = tuple(
            _SavedOutput(t) if t is not None and t.grad_fn is ctx else t for t in saved
        )
        ctx._saved_versions = [None if t is None else t._vc[0] for t in saved]


def _unpacked(unpack, packed):
    """A saved tensor back from its unpack hook; as in PyTorch, its version is not checked."""
    t = unpack(packed)
    if not isinstance(t, Tensor):
        raise TypeError(
            "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
            f"{type(t).__name__}"
        )
    return t


def _resolve_saved(s, args, raws, outs):
    """The Tensor a saved array (or Tensor) stands for: an output, an input, or a constant."""
    if s.__class__ is np.ndarray:  # an array given to or made by an ArrayFunction's forward
        for r, o in zip(raws, outs):
            if r is s or (o is not None and o._data is s):
                return o
        for a in args:
            if isinstance(a, Tensor) and a._data is s:
                return a
        return wrap(s)
    arr = s._data if isinstance(s, Tensor) else s
    for r, o in zip(raws, outs):
        if r is s or (o is not None and o._data is arr):
            return o
    for a in args:
        if isinstance(a, Tensor) and (a._data is arr or a is s):
            return a
    if isinstance(s, Tensor):
        return s
    return wrap(np.asarray(s))


class ArrayFunction(Function):
    """Base of ember's own ops: ``forward`` computes on arrays, ``backward`` on Tensors."""

    _array_inputs = True

    @classmethod
    def apply_binary(cls, a, b, dtype):
        """``cls.apply(a, b, dtype)``, for binary arithmetic (the most frequent op) on Tensors
        and Python numbers: the same node, built without ``apply``'s loops over a variable
        number of arguments. With a profiler or flop counter recording, or once meta arrays
        exist, it is ``apply`` itself."""
        if PROFILER[0] is not None or META_SEEN[0] or cls._is_view:
            return cls.apply(a, b, dtype)
        ctx = _new(cls)
        ad, a_needs = (a._data, a._requires_grad) if isinstance(a, Tensor) else (a, False)
        bd, b_needs = (b._data, b._requires_grad) if isinstance(b, Tensor) else (b, False)
        if GRAD_ENABLED[0] and (a_needs or b_needs):
            ctx.needs_input_grad = (a_needs, b_needs, False)
            ctx._edges = [_edge(a, ad) if a_needs else None, _edge(b, bd) if b_needs else None,
                          None]  # fmt: skip
            raw = cls.forward(ctx, ad, bd, dtype)
            if raw.__class__ is _ndarray:
                return _recorded_output(ctx, (a, b, dtype), raw)
            return _outputs(cls, ctx, (a, b, dtype), raw, True)
        ctx.needs_input_grad = _NO_GRADS[3]
        raw = cls.forward(ctx, ad, bd, dtype)
        if raw.__class__ is _ndarray:
            return wrap(raw)
        return _outputs(cls, ctx, (a, b, dtype), raw, False)


class ViewFunction(ArrayFunction):
    """An op whose output shares memory (and the version counter) with its first input."""

    _is_view = True


class _OnceDifferentiated(Function):
    """Ties a ``once_differentiable`` backward's result to the gradients it was computed from,
    so that differentiating it again raises instead of silently giving zero."""

    @staticmethod
    def forward(ctx, result, *grad_outputs):
        return result.view_as(result)

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def once_differentiable(fn):
    """Mark a backward that cannot itself be differentiated: it runs without recording, and
    under ``create_graph=True`` a second derivative through it raises, as in PyTorch."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            results = fn(ctx, *args)
        sources = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not GRAD_ENABLED[0] or not sources:
            return results

        def tie(r):
            return _OnceDifferentiated.apply(r, *sources) if isinstance(r, Tensor) else r

        return tuple(tie(r) for r in results) if isinstance(results, tuple) else tie(results)

    return wrapper


def recorded_backward(ctx, reference, grads):
    """Input gradients as a graph of ember ops, for a fused op's backward under create_graph.

    ``reference`` re-runs the op on the saved inputs with differentiable ember ops, and that
    graph is differentiated with create_graph, so the gradients can be differentiated again.
    """
    from ember.autograd.engine import grad  # engine imports this module

    inputs = ctx.saved_tensors
    want = [
        i for i, t in enumerate(inputs) if t is not None and ctx.needs_input_grad[i]
    ]  # fmt: skip
    outs = reference(*inputs)
    pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
    found = grad(
        [o for o, _ in pairs],
        [inputs[i] for i in want],
        [g for _, g in pairs],
        create_graph=True,
        allow_unused=True,
    )
    result = [None] * len(ctx.needs_input_grad)
    for i, g in zip(want, found):
        result[i] = g
    return tuple(result)
