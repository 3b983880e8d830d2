"""float32 LSTM and GRU layers on oneDNN's recurrent primitives: one direction of one layer over
a whole sequence in a single call, forward and backward, the loop over time running in C.

oneDNN's LSTM has PyTorch's gate order (input, forget, cell, output) and one bias (the caller
adds PyTorch's two). Its "linear before reset" GRU is PyTorch's GRU (the reset gate scales the
hidden product with its bias), with the update gate first and a fourth bias row for that
hidden-side bias; the GRU entry points convert both ways. Weights are described as they lie in
PyTorch's (gates * H, I) arrays; oneDNN picks its own layout and a reorder converts, as for
the weight gradients on the way back. Sequences are (T, B, C) arrays, time-major; an inference
forward and the output gradient may also be transposed views of batch-major memory (PyTorch's
``batch_first``), read without a copy.

A training forward leaves a workspace (the gates and states of every step) that its backward
reads; an inference forward keeps none. The primitives of one geometry are built once and kept;
anything oneDNN cannot run (another dtype, a missing library, a refused geometry) makes the
calls return None, and the caller's NumPy loop runs.
"""

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

from ember import _runtime
from ember.backends.onednn import library

_FORWARD_TRAINING, _FORWARD_INFERENCE, _BACKWARD = 64, 96, 128
_LEFT_TO_RIGHT = 1  # dnnl_unidirectional_left2right
_OVERWRITE_DIFF_WEIGHTS = 1  # dnnl_rnn_flags_diff_weights_overwrite: no accumulation

# dnnl_exec_arg values of the recurrent primitives (layer, iter, iter_c are arguments 0, 1, 2)
_SRC, _SRC_ITER, _SRC_ITER_C = 1, 2, 3
_DST, _DST_ITER, _DST_ITER_C = 17, 18, 19
_WEIGHTS, _WEIGHTS_ITER, _BIAS, _WORKSPACE = 33, 34, 41, 64
_DIFF = 128  # a diff argument is its forward argument plus this
_QUERY_WEIGHTS, _QUERY_DIFF_WEIGHTS, _QUERY_WORKSPACE = 131, 132, 135

_cache = library.RecentlyUsed(16)
_lock = threading.RLock()  # over the cache and the building of primitives (which nests)


@dataclass(frozen=True)
class _Cell:
    """A recurrent cell as oneDNN's C API takes it."""

    name: str  # of oneDNN's dnnl_<name>_{forward,backward}_primitive_desc_create
    gates: int
    bias_rows: int
    has_cell_state: bool

    def forward_descs(self, g):
        """The descriptors of the forward call, between direction and flags."""
        s = g.state.handle
        if self.has_cell_state:  # with no peephole and no projection weights
            return (g.src.handle, s, s, g.any_w.handle, g.any_w_iter.handle, None, None,
                    g.bias.handle, g.dst.handle, s, s)  # fmt: skip
        return (g.src.handle, s, g.any_w.handle, g.any_w_iter.handle, g.bias.handle,
                g.dst.handle, s)  # fmt: skip

    def backward_descs(self, g, g_src, g_out):
        """The descriptors of the backward call: the forward's, then those of the gradients
        (of the sources, the weights, then the destinations)."""
        s = g.state.handle
        if self.has_cell_state:
            diffs = (g_src, s, s, g.any_w.handle, g.any_w_iter.handle, None, None,
                     g.bias.handle, g_out, s, s)  # fmt: skip
        else:
            diffs = (g_src, s, g.any_w.handle, g.any_w_iter.handle, g.bias.handle, g_out, s)
        return self.forward_descs(g) + diffs


LSTM = _Cell("lstm", 4, 4, True)
GRU = _Cell("lbr_gru", 3, 4, False)


def _declare():
    """Argument types of the calls used here; False where the library lacks one."""
    lib = library._lib
    p, i, u = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint
    try:
        for cell, n in ((LSTM, 11), (GRU, 7)):
            # (out, engine, prop_kind, direction, descriptors, flags, attr)
            getattr(lib, f"dnnl_{cell.name}_forward_primitive_desc_create").argtypes = [
                p, p, i, i, *[p] * n, u, p,
            ]  # fmt: skip
            # (out, engine, prop_kind, direction, descriptors, flags, forward hint, attr)
            getattr(lib, f"dnnl_{cell.name}_backward_primitive_desc_create").argtypes = [
                p, p, i, i, *[p] * (2 * n), u, p, p,
            ]  # fmt: skip
    except AttributeError:
        return False
    return True


_declared = library.available() and _declare()


def _sequence_layout(a):
    """'tnc' when the (T, B, C) array ``a`` is time-major contiguous, 'ntc' when it views
    contiguous (B, T, C) memory, else None. Strides of length-1 axes do not matter."""
    T, B, C = a.shape
    item = a.itemsize
    for layout, want in (("tnc", (B * C, C, 1)), ("ntc", (C, T * C, 1))):
        if all(n == 1 or s == w * item for n, s, w in zip(a.shape, a.strides, want)):
            return layout
    return None


def _sequence_desc(T, B, C, layout):
    strides = (B * C, C, 1) if layout == "tnc" else (C, T * C, 1)
    return library.Desc((T, B, C), strides=strides)


def _query(primitive, what, index):
    return ctypes.c_void_p(library._lib.dnnl_primitive_desc_query_md(primitive.pd, what, index))


_UNBUILT = object()


class _Geometry:
    """The memory descriptors and primitives of one cell and shape, built as they are needed.

    A primitive oneDNN refuses is remembered as None, and calls needing it decline."""

    def __init__(self, cell, T, B, n_in, H, x_layout):
        self.cell, self.T, self.B, self.n_in, self.H = cell, T, B, n_in, H
        G = cell.gates
        self.src = _sequence_desc(T, B, n_in, x_layout)
        self.dst = _sequence_desc(T, B, H, "tnc")
        self.state = library.Desc((1, 1, B, H), strides=(B * H, B * H, H, 1))
        rows = cell.bias_rows
        self.bias = library.Desc((1, 1, rows, H), strides=(rows * H, rows * H, H, 1))
        self.any_w = library.Desc((1, 1, n_in, G, H), tag=library.TAG_ANY)
        self.any_w_iter = library.Desc((1, 1, H, G, H), tag=library.TAG_ANY)
        self.user_w = self._user_weights(n_in)
        self.user_w_iter = self._user_weights(H)
        self._built = {}

    def _user_weights(self, n_in):
        """A PyTorch (G * H, n_in) weight as oneDNN's (layers, directions, input, gates,
        output)."""
        G, H = self.cell.gates, self.H
        whole = G * H * n_in
        return library.Desc((1, 1, n_in, G, H), strides=(whole, whole, 1, H * n_in, n_in))

    def _get(self, key, build):
        found = self._built.get(key, _UNBUILT)
        if found is _UNBUILT:
            with _lock:
                try:
                    found = build()
                except library.Refused:
                    found = None
                self._built[key] = found
        return found

    def forward(self, training):
        def build():
            prop = _FORWARD_TRAINING if training else _FORWARD_INFERENCE
            create = getattr(library._lib, f"dnnl_{self.cell.name}_forward_primitive_desc_create")
            descs = self.cell.forward_descs(self)
            primitive = library.Primitive(
                lambda out: create(out, library._engine, prop, _LEFT_TO_RIGHT, *descs, 0, None),
                parks_blas=True,
            )
            return _Bound(primitive, self)

        return self._get(("forward", training), build)

    def backward(self, g_layout):
        def build():
            forward = self.forward(True)
            if forward is None:
                raise library.Refused("no forward primitive")
            create = getattr(library._lib, f"dnnl_{self.cell.name}_backward_primitive_desc_create")
            g_out = _sequence_desc(self.T, self.B, self.H, g_layout)
            g_src = _sequence_desc(self.T, self.B, self.n_in, "tnc")
            descs = self.cell.backward_descs(self, g_src.handle, g_out.handle)
            primitive = library.Primitive(
                lambda out: create(
                    out, library._engine, _BACKWARD, _LEFT_TO_RIGHT, *descs,
                    _OVERWRITE_DIFF_WEIGHTS, forward.primitive.pd, None,
                ),
                parks_blas=True,
            )  # fmt: skip
            return _Bound(primitive, self, (g_src, g_out))

        return self._get(("backward", g_layout), build)


class _Bound:
    """A primitive with the reorders between PyTorch's weight layout and the one it chose;
    a backward one also holds the descriptors of the input and output gradients."""

    def __init__(self, primitive, geometry, gradient_descs=None):
        self.primitive = primitive
        g = geometry
        self.weights = _query(primitive, _QUERY_WEIGHTS, 0)
        self.weights_iter = _query(primitive, _QUERY_WEIGHTS, 1)
        self.to_weights = _reorder(g.user_w.handle, self.weights)
        self.to_weights_iter = _reorder(g.user_w_iter.handle, self.weights_iter)
        self.workspace = _query(primitive, _QUERY_WORKSPACE, 0)
        self.gradient_descs = gradient_descs
        if gradient_descs is not None:
            self.diff_weights = _query(primitive, _QUERY_DIFF_WEIGHTS, 0)
            self.diff_weights_iter = _query(primitive, _QUERY_DIFF_WEIGHTS, 1)
            self.from_diff_weights = _reorder(self.diff_weights, g.user_w.handle)
            self.from_diff_weights_iter = _reorder(self.diff_weights_iter, g.user_w_iter.handle)

    def weight_args(self, w_ih, w_hh):
        """Execution arguments of PyTorch's weight arrays, reordered where needed."""
        w, w_iter = self.weights, self.weights_iter
        return [
            (_WEIGHTS, w, _packed(self.to_weights, w, w_ih)),
            (_WEIGHTS_ITER, w_iter, _packed(self.to_weights_iter, w_iter, w_hh)),
        ]


def _reorder(src_md, dst_md):
    return None if library.same_layout(src_md, dst_md) else library.Reorder(src_md, dst_md)


def _packed(reorder, md, array):
    """``array`` in layout ``md`` through ``reorder`` (None: it already is)."""
    if reorder is None:
        return array
    out = library.buffer(md)
    reorder.run(array, out)
    return out


def _geometry(cell, T, B, n_in, H, x_layout):
    """The cached geometry; oneDNN fixes a primitive's thread count when it builds it, so the
    count is part of the key."""
    key = (cell, T, B, n_in, H, x_layout, _runtime.get_num_threads())
    with _lock:
        return _cache.get(key, lambda: _Geometry(cell, T, B, n_in, H, x_layout))


def _float32(*arrays):
    return all(a is None or (a.__class__ is np.ndarray and a.dtype == np.float32) for a in arrays)


class Saved:
    """What a training forward keeps for its backward: the geometry, the forward's inputs,
    private copies of its outputs, and the workspace."""

    __slots__ = ("geometry", "x", "states", "bias", "out", "finals", "workspace")

    def __init__(self, geometry, x, states, bias, out, finals, workspace):
        self.geometry, self.x, self.states, self.bias = geometry, x, states, bias
        self.out, self.finals, self.workspace = out, finals, workspace


def _forward(cell, x, states, w_ih, w_hh, bias, training):
    """(out, final states, Saved or None) of one layer, or None where oneDNN declines."""
    T, B, n_in = x.shape
    H = w_hh.shape[1]
    if T == 0 or B == 0 or n_in == 0:
        return None
    layout = _sequence_layout(x)
    if layout is None or (training and layout == "ntc"):
        # oneDNN 3.2's backward gets the input weights' gradient wrong (NaN and garbage) from
        # batch-major input: a training forward reads a time-major copy
        x, layout = np.ascontiguousarray(x), "tnc"
    try:
        geometry = _geometry(cell, T, B, n_in, H, layout)
        bound = geometry.forward(training)
        if bound is None:
            return None
        states = [np.ascontiguousarray(s) for s in states]
        out = np.empty((T, B, H), np.float32)
        finals = [np.empty((B, H), np.float32) for _ in states]
        state = geometry.state.handle
        args = [
            (_SRC, geometry.src.handle, x),
            *[(_SRC_ITER + k, state, s) for k, s in enumerate(states)],
            *bound.weight_args(np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh)),
            (_BIAS, geometry.bias.handle, bias),
            (_DST, geometry.dst.handle, out),
            *[(_DST_ITER + k, state, s) for k, s in enumerate(finals)],
        ]
        workspace = None
        if training:
            workspace = library.buffer(bound.workspace)
            args.append((_WORKSPACE, bound.workspace, workspace))
        bound.primitive.run(args)
    except library.Refused:
        return None
    saved = None
    if training:  # (the caller may change its outputs in place before backward)
        copies = [f.copy() for f in finals]
        saved = Saved(geometry, x, states, bias, out.copy(), copies, workspace)
    return out, finals, saved


def _backward(saved, w_ih, w_hh, g_out, g_finals):
    """(dx, d states, dw_ih, dw_hh, d bias) of the layer ``saved`` came from, or None."""
    layout = _sequence_layout(g_out)
    if layout is None:
        g_out, layout = np.ascontiguousarray(g_out), "tnc"
    geometry = saved.geometry
    T, B, n_in, H = geometry.T, geometry.B, geometry.n_in, geometry.H
    G = geometry.cell.gates
    try:
        bound = geometry.backward(layout)
        if bound is None:
            return None
        g_src, g_dst = (d.handle for d in bound.gradient_descs)
        dx = np.empty((T, B, n_in), np.float32)
        d_states = [np.empty((B, H), np.float32) for _ in saved.states]
        dw_ih = np.empty((G * H, n_in), np.float32)
        dw_hh = np.empty((G * H, H), np.float32)
        d_bias = np.empty_like(saved.bias)
        diff_w = dw_ih if bound.from_diff_weights is None else library.buffer(bound.diff_weights)
        diff_w_iter = dw_hh
        if bound.from_diff_weights_iter is not None:
            diff_w_iter = library.buffer(bound.diff_weights_iter)
        state, bias_md = geometry.state.handle, geometry.bias.handle
        bound.primitive.run(
            [
                (_SRC, geometry.src.handle, saved.x),
                *[(_SRC_ITER + k, state, s) for k, s in enumerate(saved.states)],
                *bound.weight_args(np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh)),
                (_BIAS, bias_md, saved.bias),
                (_DST, geometry.dst.handle, saved.out),
                *[(_DST_ITER + k, state, s) for k, s in enumerate(saved.finals)],
                (_WORKSPACE, bound.workspace, saved.workspace),
                (_DIFF + _SRC, g_src, dx),
                *[(_DIFF + _SRC_ITER + k, state, d) for k, d in enumerate(d_states)],
                (_DIFF + _WEIGHTS, bound.diff_weights, diff_w),
                (_DIFF + _WEIGHTS_ITER, bound.diff_weights_iter, diff_w_iter),
                (_DIFF + _BIAS, bias_md, d_bias),
                (_DIFF + _DST, g_dst, g_out),
                *[
                    (_DIFF + _DST_ITER + k, state, np.ascontiguousarray(g))
                    for k, g in enumerate(g_finals)
                ],
            ]
        )
        if bound.from_diff_weights is not None:
            bound.from_diff_weights.run(diff_w, dw_ih)
        if bound.from_diff_weights_iter is not None:
            bound.from_diff_weights_iter.run(diff_w_iter, dw_hh)
    except library.Refused:
        return None
    return dx, d_states, dw_ih, dw_hh, d_bias


def _usable(x, *arrays):
    return _declared and _float32(x, *arrays) and x.ndim == 3


def lstm_forward(x, h0, c0, w_ih, w_hh, bias, training):
    """One LSTM layer, left to right, over x (T, B, I) from states h0, c0 (B, H) with weights
    w_ih (4H, I), w_hh (4H, H) and the summed bias (4H,) or None.

    Returns (out (T, B, H), h_n, c_n, saved): ``saved`` is what `lstm_backward` needs (None
    unless ``training``). Returns None where oneDNN cannot run it.
    """
    if not _usable(x, h0, c0, w_ih, w_hh, bias):
        return None
    bias = np.zeros(w_hh.shape[0], np.float32) if bias is None else np.ascontiguousarray(bias)
    result = _forward(LSTM, x, [h0, c0], w_ih, w_hh, bias, training)
    if result is None:
        return None
    out, (h_n, c_n), saved = result
    return out, h_n, c_n, saved


def lstm_backward(saved, w_ih, w_hh, g_out, g_h, g_c):
    """Gradients of the layer `lstm_forward` ran (``saved``) from those of its outputs.

    Returns (dx, dh0, dc0, dw_ih, dw_hh, dbias), or None where oneDNN cannot run it.
    """
    if not _float32(g_out, g_h, g_c, w_ih, w_hh):
        return None
    result = _backward(saved, w_ih, w_hh, g_out, [g_h, g_c])
    if result is None:
        return None
    dx, (dh0, dc0), dw_ih, dw_hh, dbias = result
    return dx, dh0, dc0, dw_ih, dw_hh, dbias


_GRU_GATE_ORDER = [1, 0, 2]
"""PyTorch's GRU gates are (reset, update, new), oneDNN's (update, reset, new): the order
swaps the first two, both ways."""


def _swap_gru_gates(w):
    G_H = w.shape[0]
    return w.reshape(3, G_H // 3, -1)[_GRU_GATE_ORDER].reshape(w.shape)


def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, training):
    """One GRU layer (PyTorch's), left to right, over x (T, B, I) from h0 (B, H) with weights
    w_ih (3H, I), w_hh (3H, H) and biases b_ih, b_hh (3H,) or None.

    Returns (out (T, B, H), h_n, saved), or None where oneDNN cannot run it.
    """
    if not _usable(x, h0, w_ih, w_hh, b_ih, b_hh):
        return None
    H = w_hh.shape[1]
    bias = np.zeros((4, H), np.float32)
    if b_ih is not None:
        i, h = b_ih.reshape(3, H), b_hh.reshape(3, H)
        bias[0], bias[1] = i[1] + h[1], i[0] + h[0]  # update, reset: one bias each
        bias[2], bias[3] = i[2], h[2]  # the new gate's input-side and hidden-side biases
    w_ih, w_hh = _swap_gru_gates(w_ih), _swap_gru_gates(w_hh)
    result = _forward(GRU, x, [h0], w_ih, w_hh, bias.reshape(-1), training)
    if result is None:
        return None
    out, (h_n,), saved = result
    return out, h_n, saved


def gru_backward(saved, w_ih, w_hh, g_out, g_h):
    """Gradients of the layer `gru_forward` ran (``saved``) from those of its outputs.

    Returns (dx, dh0, dw_ih, dw_hh, db_ih, db_hh), or None where oneDNN cannot run it.
    """
    if not _float32(g_out, g_h, w_ih, w_hh):
        return None
    result = _backward(saved, _swap_gru_gates(w_ih), _swap_gru_gates(w_hh), g_out, [g_h])
    if result is None:
        return None
    dx, (dh0,), dw_ih, dw_hh, d_bias = result
    d_update, d_reset, d_new_input, d_new_hidden = d_bias.reshape(4, -1)
    db_ih = np.concatenate([d_reset, d_update, d_new_input])
    db_hh = np.concatenate([d_reset, d_update, d_new_hidden])
    return dx, dh0, _swap_gru_gates(dw_ih), _swap_gru_gates(dw_hh), db_ih, db_hh
