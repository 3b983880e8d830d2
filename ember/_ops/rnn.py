"""Recurrent layers as fused ops: one direction of one layer over a whole sequence.

The input projection for all time steps is one matrix product; the loop over time (the one
natural Python loop, see DESIGN.md) does only the recurrent product and the gate arithmetic.
Backward runs the loop in reverse by hand and again batches the weight gradients into single
matrix products. When the backward itself is being recorded (``create_graph=True``), the layer
is instead re-run with ordinary ember ops and differentiated, so its gradients can be
differentiated again (double backward).

float32 LSTM and GRU layers first ask oneDNN's recurrent primitives
(`ember.backends.onednn.rnn`), which run the whole loop, forward and backward, in C; the NumPy
loop serves other dtypes, packed batches (each row's own last step) and a missing library.
"""

import numpy as np

from ember._ops.shape import stack
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled
from ember.backends.onednn import rnn as onednn_rnn

__all__ = []


def _sigmoid(x):
    out = np.empty_like(x)
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _input_projection(x, w_ih, b):
    T, B, _ = x.shape
    xw = x.reshape(T * B, -1) @ w_ih.T
    if b is not None:
        xw += b
    return xw.reshape(T, B, -1)


def _project(x, w_ih, b):
    out = x @ w_ih.t()
    return out if b is None else out + b


def _final(steps, last):
    """The state after each row's last step, from a list of per-step states."""
    if last is None:
        return steps[-1]
    return stack(steps)[last, np.arange(len(last))]


def _final_array(steps, last):
    return steps[-1].copy() if last is None else steps[last, np.arange(len(last))]


def _initial_grad(g, last):
    """The final state's gradient before the reverse loop: all of it, or none when each row
    has its own last step (then each row's part enters at that step, see ``_ends_at``)."""
    return g.copy() if last is None else np.zeros_like(g)


def _ends_at(last, t):
    """Rows (as a (B, 1) mask) whose sequence ends at step t, or None if there are none."""
    if last is None:
        return None
    ends = last == t
    return ends[:, None] if ends.any() else None


def _lstm_reference(last):
    def run(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        H = w_hh.shape[1]
        xw = _project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        h, c, outs, cells = h0, c0, [], []
        for t in range(x.shape[0]):
            pre = xw[t] + h @ w_hh.t()
            i, f = pre[:, :H].sigmoid(), pre[:, H : 2 * H].sigmoid()
            g, o = pre[:, 2 * H : 3 * H].tanh(), pre[:, 3 * H :].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            outs.append(h)
            cells.append(c)
        return stack(outs), _final(outs, last), _final(cells, last)

    return run


def _gru_reference(last):
    def run(x, h0, w_ih, w_hh, b_ih, b_hh):
        H = w_hh.shape[1]
        xw = _project(x, w_ih, b_ih)
        h, outs = h0, []
        for t in range(x.shape[0]):
            hw = _project(h, w_hh, b_hh)
            r = (xw[t, :, :H] + hw[:, :H]).sigmoid()
            z = (xw[t, :, H : 2 * H] + hw[:, H : 2 * H]).sigmoid()
            n = (xw[t, :, 2 * H :] + r * hw[:, 2 * H :]).tanh()
            h = (1 - z) * n + z * h
            outs.append(h)
        return stack(outs), _final(outs, last)

    return run


def _rnn_reference(nonlinearity, last):
    def run(x, h0, w_ih, w_hh, b_ih, b_hh):
        xw = _project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        h, outs = h0, []
        for t in range(x.shape[0]):
            pre = xw[t] + h @ w_hh.t()
            h = pre.tanh() if nonlinearity == "tanh" else pre.relu()
            outs.append(h)
        return stack(outs), _final(outs, last)

    return run


def _lstm_numpy_forward(x, h0, c0, w_ih, w_hh, b):
    """The layer as a NumPy loop over time: (out, gates, cs, tanh_c), the last three being
    what the backward needs (activated i, f, g, o; cell states c_0..c_T; tanh of c_1..c_T)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    xw = _input_projection(x, w_ih, b)
    out = np.empty((T, B, H), x.dtype)
    gates = np.empty((T, B, 4 * H), x.dtype)
    cs = np.empty((T + 1, B, H), x.dtype)
    tanh_c = np.empty((T, B, H), x.dtype)
    cs[0] = c0
    h = h0
    w_hh_t = np.ascontiguousarray(w_hh.T)  # BLAS reads it row by row, once per step
    for t in range(T):
        pre = xw[t] + h @ w_hh_t
        gt = gates[t]
        gt[:, : 2 * H] = _sigmoid(pre[:, : 2 * H])
        gt[:, 2 * H : 3 * H] = np.tanh(pre[:, 2 * H : 3 * H])
        gt[:, 3 * H :] = _sigmoid(pre[:, 3 * H :])
        i, f, g, o = gt[:, :H], gt[:, H : 2 * H], gt[:, 2 * H : 3 * H], gt[:, 3 * H :]
        c = f * cs[t] + i * g
        cs[t + 1] = c
        np.tanh(c, out=tanh_c[t])
        h = out[t] = o * tanh_c[t]
    return out, gates, cs, tanh_c


def _lstm_numpy_backward(x, h0, w_ih, w_hh, saved, g_out, g_h, g_c, last, has_bias):
    """(dx, dh0, dc0, dw_ih, dw_hh, db) by running the loop of `_lstm_numpy_forward` in
    reverse over its ``saved`` (gates, cs, tanh_c, out)."""
    gates, cs, tanh_c, out = saved
    T, B, _ = x.shape
    H = w_hh.shape[1]
    d_pre = np.empty_like(gates)
    dh = _initial_grad(g_h, last)
    dc = _initial_grad(g_c, last)
    for t in range(T - 1, -1, -1):
        dh += g_out[t]
        if (ends := _ends_at(last, t)) is not None:
            dh += ends * g_h
            dc += ends * g_c
        gt = gates[t]
        i, f, g, o = gt[:, :H], gt[:, H : 2 * H], gt[:, 2 * H : 3 * H], gt[:, 3 * H :]
        tc = tanh_c[t]
        dc += dh * o * (1 - tc * tc)
        dp = d_pre[t]
        dp[:, :H] = dc * g * i * (1 - i)
        dp[:, H : 2 * H] = dc * cs[t] * f * (1 - f)
        dp[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
        dp[:, 3 * H :] = dh * tc * o * (1 - o)
        dc = dc * f
        dh = dp @ w_hh
    flat = d_pre.reshape(T * B, 4 * H)
    dx = (flat @ w_ih).reshape(x.shape)
    dw_ih = flat.T @ x.reshape(T * B, -1)
    h_prev = np.concatenate([h0[None], out[:-1]], axis=0).reshape(T * B, H)
    dw_hh = flat.T @ h_prev
    db = flat.sum(0) if has_bias else None
    return dx, dh, dc, dw_ih, dw_hh, db


class LSTMLayer(ArrayFunction):
    """x (T, B, I), h0/c0 (B, H) -> out (T, B, H), h_T, c_T.

    float32 layers run on oneDNN's LSTM primitive where it is available (the whole sequence in
    C, forward and backward); other dtypes, each row's own last step (packed sequences) and a
    declining library take the NumPy loop.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, last=None):
        b = None if b_ih is None else b_ih + b_hh
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.has_bias = b_ih is not None
        ctx.last = last
        ctx.onednn = None
        if last is None:
            fused = onednn_rnn.lstm_forward(x, h0, c0, w_ih, w_hh, b, any(ctx.needs_input_grad))
            if fused is not None:
                out, h_n, c_n, ctx.onednn = fused
                return out, h_n, c_n
        out, gates, cs, tanh_c = _lstm_numpy_forward(x, h0, c0, w_ih, w_hh, b)
        # the forward pass's own intermediates, with a private copy of the output (torch lets
        # the returned output be changed in place before backward)
        ctx.saved = (gates, cs, tanh_c, out.copy())
        return out, _final_array(out, last), _final_array(cs[1:], last)

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if is_grad_enabled():
            return recorded_backward(ctx, _lstm_reference(ctx.last), (g_out, g_h, g_c))

        x, h0, c0, w_ih, w_hh, b_ih, b_hh = (
            None if t is None else t._data for t in ctx.saved_tensors
        )  # fmt: skip
        g_out, g_h, g_c = g_out._data, g_h._data, g_c._data
        grads = None
        if ctx.onednn is not None:
            grads = onednn_rnn.lstm_backward(ctx.onednn, w_ih, w_hh, g_out, g_h, g_c)
            if grads is None:  # oneDNN declined the backward: the NumPy loop from the start
                b = None if b_ih is None else b_ih + b_hh
                out, gates, cs, tanh_c = _lstm_numpy_forward(x, h0, c0, w_ih, w_hh, b)
                ctx.saved = (gates, cs, tanh_c, out)
        if grads is None:
            grads = _lstm_numpy_backward(
                x, h0, w_ih, w_hh, ctx.saved, g_out, g_h, g_c, ctx.last, ctx.has_bias
            )
        dx, dh, dc, dw_ih, dw_hh = (wrap(a) for a in grads[:5])
        db = wrap(grads[5]) if ctx.has_bias else None
        return dx, dh, dc, dw_ih, dw_hh, db, db, None


def _gru_numpy_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The layer as a NumPy loop over time: (out, rz, ns, hn), the last three being what the
    backward needs (activated reset and update gates, new gates, W_hn h + b_hn)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    xw = _input_projection(x, w_ih, b_ih)
    out = np.empty((T, B, H), x.dtype)
    rz = np.empty((T, B, 2 * H), x.dtype)
    ns = np.empty((T, B, H), x.dtype)
    hn = np.empty((T, B, H), x.dtype)
    h = h0
    w_hh_t = np.ascontiguousarray(w_hh.T)  # BLAS reads it row by row, once per step
    for t in range(T):
        hw = h @ w_hh_t
        if b_hh is not None:
            hw += b_hh
        rz[t] = _sigmoid(xw[t, :, : 2 * H] + hw[:, : 2 * H])
        r, z = rz[t, :, :H], rz[t, :, H:]
        hn[t] = hw[:, 2 * H :]
        ns[t] = np.tanh(xw[t, :, 2 * H :] + r * hn[t])
        h = out[t] = (1 - z) * ns[t] + z * h
    return out, rz, ns, hn


def _gru_numpy_backward(x, h0, w_ih, w_hh, saved, g_out, g_h, last, has_bias):
    """(dx, dh0, dw_ih, dw_hh, db_ih, db_hh) by running the loop of `_gru_numpy_forward` in
    reverse over its ``saved`` (rz, ns, hn, out)."""
    rz, ns, hn, out = saved
    T, B, _ = x.shape
    H = w_hh.shape[1]
    d_xw = np.empty((T, B, 3 * H), x.dtype)
    d_hw = np.empty((T, B, 3 * H), x.dtype)
    dh = _initial_grad(g_h, last)
    for t in range(T - 1, -1, -1):
        dh += g_out[t]
        if (ends := _ends_at(last, t)) is not None:
            dh += ends * g_h
        r, z, n = rz[t, :, :H], rz[t, :, H:], ns[t]
        h_prev = h0 if t == 0 else out[t - 1]
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (h_prev - n) * z * (1 - z)
        dr = dn * hn[t] * r * (1 - r)
        d_xw[t, :, :H], d_xw[t, :, H : 2 * H], d_xw[t, :, 2 * H :] = dr, dz, dn
        d_hw[t, :, :H], d_hw[t, :, H : 2 * H], d_hw[t, :, 2 * H :] = dr, dz, dn * r
        dh = dh * z + d_hw[t] @ w_hh
    fx = d_xw.reshape(T * B, 3 * H)
    fh = d_hw.reshape(T * B, 3 * H)
    dx = (fx @ w_ih).reshape(x.shape)
    dw_ih = fx.T @ x.reshape(T * B, -1)
    h_prev = np.concatenate([h0[None], out[:-1]], axis=0).reshape(T * B, H)
    dw_hh = fh.T @ h_prev
    db_ih = fx.sum(0) if has_bias else None
    db_hh = fh.sum(0) if has_bias else None
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


class GRULayer(ArrayFunction):
    """PyTorch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) n + z h.

    float32 layers run on oneDNN's "linear before reset" GRU primitive where it is available;
    as for `LSTMLayer`, the rest takes the NumPy loop.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, last=None):
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.has_bias = b_ih is not None
        ctx.last = last
        ctx.onednn = None
        if last is None:
            training = any(ctx.needs_input_grad)
            fused = onednn_rnn.gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, training)
            if fused is not None:
                out, h_n, ctx.onednn = fused
                return out, h_n
        out, rz, ns, hn = _gru_numpy_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.saved = (rz, ns, hn, out.copy())  # own intermediates, as in LSTMLayer
        return out, _final_array(out, last)

    @staticmethod
    def backward(ctx, g_out, g_h):
        if is_grad_enabled():
            return recorded_backward(ctx, _gru_reference(ctx.last), (g_out, g_h))

        x, h0, w_ih, w_hh, b_ih, b_hh = (None if t is None else t._data for t in ctx.saved_tensors)
        g_out, g_h = g_out._data, g_h._data
        grads = None
        if ctx.onednn is not None:
            grads = onednn_rnn.gru_backward(ctx.onednn, w_ih, w_hh, g_out, g_h)
            if grads is None:  # oneDNN declined the backward: the NumPy loop from the start
                out, rz, ns, hn = _gru_numpy_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
                ctx.saved = (rz, ns, hn, out)
        if grads is None:
            grads = _gru_numpy_backward(
                x, h0, w_ih, w_hh, ctx.saved, g_out, g_h, ctx.last, ctx.has_bias
            )
        dx, dh, dw_ih, dw_hh = (wrap(a) for a in grads[:4])
        db_ih, db_hh = (wrap(a) for a in grads[4:]) if ctx.has_bias else (None, None)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh, None


class RNNLayer(ArrayFunction):
    """Elman RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, last=None):
        T, B, _ = x.shape
        H = w_hh.shape[1]
        b = None if b_ih is None else b_ih + b_hh
        xw = _input_projection(x, w_ih, b)
        out = np.empty((T, B, H), x.dtype)
        h = h0
        w_hh_t = np.ascontiguousarray(w_hh.T)  # BLAS reads it row by row, once per step
        for t in range(T):
            pre = xw[t] + h @ w_hh_t
            h = out[t] = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)
        ctx.saved = out.copy()  # a private copy of the output, as in LSTMLayer
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh)
        ctx.nonlinearity = nonlinearity
        ctx.tanh = nonlinearity == "tanh"
        ctx.has_bias = b_ih is not None
        ctx.last = last
        return out, _final_array(out, last)

    @staticmethod
    def backward(ctx, g_out, g_h):
        if is_grad_enabled():
            reference = _rnn_reference(ctx.nonlinearity, ctx.last)
            return recorded_backward(ctx, reference, (g_out, g_h))

        x, h0, w_ih, w_hh, _, _ = (None if t is None else t._data for t in ctx.saved_tensors)
        out = ctx.saved
        g_out, g_h = g_out._data, g_h._data
        T, B, _ = x.shape
        H = w_hh.shape[1]
        d_pre = np.empty_like(out)
        last = ctx.last
        dh = _initial_grad(g_h, last)
        for t in range(T - 1, -1, -1):
            dh += g_out[t]
            if (ends := _ends_at(last, t)) is not None:
                dh += ends * g_h
            y = out[t]
            d_pre[t] = dh * (1 - y * y) if ctx.tanh else dh * (y > 0)
            dh = d_pre[t] @ w_hh
        flat = d_pre.reshape(T * B, H)
        dx = (flat @ w_ih).reshape(x.shape)
        dw_ih = flat.T @ x.reshape(T * B, -1)
        h_prev = np.concatenate([h0[None], out[:-1]], axis=0).reshape(T * B, H)
        dw_hh = flat.T @ h_prev
        db = flat.sum(0) if ctx.has_bias else None
        wr = lambda a: None if a is None else wrap(a)  # noqa: E731
        return wr(dx), wr(dh), wr(dw_ih), wr(dw_hh), wr(db), wr(db), None, None
