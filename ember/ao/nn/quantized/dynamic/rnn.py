"""Dynamically quantized LSTM and GRU: int8 weights, activations quantized at each product.

Made from a float ``nn.LSTM``/``nn.GRU`` by ``quantize_dynamic``: every input-to-hidden and
hidden-to-hidden weight is quantized to int8 once and packed for the int8 kernel. A forward
quantizes the whole input sequence once per layer for the input products, and the hidden
state at each step for the recurrent product, as PyTorch's dynamic LSTM does; the gate
nonlinearities run in float32. Inference only: nothing is trained through these layers.
As in PyTorch, each layer and direction's weights live in ``_all_weight_values``.
"""

import numpy as np

from ember import _qscheme, nn
from ember._dtype import qint8
from ember._ops.creation import from_numpy, zeros
from ember.ao.nn.quantized.dynamic.packed_params import (
    PackedParameter,
    cell_params,
    cell_weights,
    hidden_repr,
    record_version,
)
from ember.ao.quantization import _qparams
from ember.ao.quantization._qtensor import QuantizedTensor

_ONE = np.float32(1)  # a NumPy scalar: a Python 1 costs a conversion on every call


def _sigmoid_(x):
    """x = 1 / (1 + exp(-x)), in place."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += _ONE
    np.reciprocal(x, out=x)


def _quantize(weight, per_channel):
    """A float weight as a qint8 QuantizedTensor (symmetric, per tensor or per row)."""
    w = weight.detach().numpy().astype(np.float32)
    scales, values = _qparams.weight_qparams(w, per_channel)
    if per_channel:
        zero = np.zeros(len(scales), np.int64)
        return QuantizedTensor(values, qint8, _qscheme.per_channel_affine, scales, zero, axis=0)
    return QuantizedTensor(values, qint8, _qscheme.per_tensor_affine, float(scales), 0)


def _product(packed, x, reduce_range):
    """float32 x @ W.T + b through the int8 kernel (activations quantized here)."""
    x = np.ascontiguousarray(x, np.float32)
    q, scale, zero_point = _qparams.quantize_activations(x, reduce_range)
    return packed.run(q, scale, zero_point)


class _QuantizedRNNBase(nn.Module):
    _FLOAT = None
    _GATES = 0
    _version = 2

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=qint8):  # fmt: skip
        super().__init__()
        if dtype != qint8:
            raise NotImplementedError(
                f"{self._get_name()}: ember supports dtype=ember.qint8, got {dtype}"
            )
        self.mode = self._FLOAT.__name__
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.dtype, self.version = bidirectional, dtype, 2
        self.directions = 2 if bidirectional else 1
        gates = self._GATES * hidden_size
        cells = []
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size * self.directions
            for _ in range(self.directions):
                w_ih = _quantize(zeros(gates, inputs), False)
                w_hh = _quantize(zeros(gates, hidden_size), False)
                b_ih, b_hh = zeros(gates), zeros(gates)
                cells.append(PackedParameter(cell_params(w_ih, w_hh, b_ih, b_hh)))
        self._all_weight_values = nn.ModuleList(cells)

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not cls._FLOAT:
            raise TypeError(
                f"{cls.__name__}.from_float: expected nn.{cls._FLOAT.__name__}, "
                f"got {type(mod).__name__}"
            )
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError(f"quantize_dynamic: {type(mod).__name__} with proj_size")
        if not mod.bias:
            raise AssertionError(
                f"quantize_dynamic: {type(mod).__name__} layers are quantized only with bias=True"
            )
        qconfig = getattr(mod, "qconfig", None)
        per_channel = qconfig is not None and qconfig.per_channel
        out = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias, mod.batch_first,
                  mod.dropout, mod.bidirectional)  # fmt: skip
        k = 0
        for layer in range(mod.num_layers):
            for suffix in ("", "_reverse")[: out.directions]:
                w_ih = _quantize(getattr(mod, f"weight_ih_l{layer}{suffix}"), per_channel)
                w_hh = _quantize(getattr(mod, f"weight_hh_l{layer}{suffix}"), per_channel)
                b_ih = getattr(mod, f"bias_ih_l{layer}{suffix}").detach().clone()
                b_hh = getattr(mod, f"bias_hh_l{layer}{suffix}").detach().clone()
                out._all_weight_values[k].param = cell_params(w_ih, w_hh, b_ih, b_hh)
                k += 1
        return out

    def _weight_bias(self):
        """``{"weight": {"weight_ih_l0": ..., ...}, "bias": {"bias_ih_l0": ..., ...}}``."""
        out = {"weight": {}, "bias": {}}
        k = 0
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[: self.directions]:
                w_ih, w_hh, b_ih, b_hh = cell_weights(self._all_weight_values[k].param)
                out["weight"][f"weight_ih_l{layer}{suffix}"] = w_ih
                out["weight"][f"weight_hh_l{layer}{suffix}"] = w_hh
                out["bias"][f"bias_ih_l{layer}{suffix}"] = b_ih
                out["bias"][f"bias_hh_l{layer}{suffix}"] = b_hh
                k += 1
        return out

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        record_version(self, destination, prefix)

    def get_weight(self):
        return self._weight_bias()["weight"]

    def get_bias(self):
        return self._weight_bias()["bias"]

    def _initial(self, hx, batch):
        shape = (self.num_layers * self.directions, batch, self.hidden_size)
        if hx is None:
            return np.zeros(shape, np.float32)
        state = hx.detach().numpy().astype(np.float32)
        if state.ndim == 2:
            state = state[:, None]
        if state.shape != shape:
            raise RuntimeError(
                f"{self._get_name()}: expected hidden size {shape}, got {tuple(state.shape)}"
            )
        return state

    def _run(self, x, states):
        """x: (T, B, I) float32; states: list of per-(layer, direction) state tuples."""
        outputs, finals = x, []
        for layer in range(self.num_layers):
            per_direction = []
            for d in range(self.directions):
                k = layer * self.directions + d
                w_ih, w_hh, reduce_range = self._all_weight_values[k].kernels()
                seq = outputs if d == 0 else outputs[::-1]
                t, b, _ = seq.shape
                projected = _product(w_ih, seq.reshape(t * b, -1), reduce_range).reshape(t, b, -1)
                ys, state = self._scan(projected, w_hh, states[k], reduce_range)
                ys = ys if d == 0 else ys[::-1]
                per_direction.append(ys)
                finals.append(state)
            outputs = np.concatenate(per_direction, axis=2)
        return outputs, finals

    def forward(self, input, hx=None):
        x = input.detach().numpy().astype(np.float32)
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        if x.shape[2] != self.input_size:
            raise RuntimeError(
                f"{self._get_name()}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[2]}"
            )
        out, finals = self._forward_states(x, hx)
        if unbatched:
            out = out[:, 0]
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        return from_numpy(np.ascontiguousarray(out)), finals

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def __repr__(self):
        return hidden_repr(self, nn.ModuleList)


class LSTM(_QuantizedRNNBase):
    _FLOAT = nn.LSTM
    _GATES = 4

    def _scan(self, projected, w_hh, state, reduce_range):
        """The recurrence over (T, B, 4H) input products, in place in preallocated buffers:
        at a small batch a step's cost is its count of NumPy calls, not its arithmetic."""
        h, c = state[0], state[1].copy()
        steps, batch, width = projected.shape
        size = width // 4
        ys = np.empty((steps, batch, size), np.float32)
        product = w_hh.bind(batch)
        g, tanh_c = np.empty((batch, size), np.float32), np.empty((batch, size), np.float32)
        with np.errstate(over="ignore"):  # exp(-x) overflows to inf: sigmoid(x) is then 0
            for t in range(steps):
                _, scale, zero_point = _qparams.quantize_activations(h, reduce_range, product.input)
                gates = product(scale, zero_point)
                gates += projected[t]
                np.tanh(gates[:, 2 * size : 3 * size], out=g)
                _sigmoid_(gates)
                i, f, o = gates[:, :size], gates[:, size : 2 * size], gates[:, 3 * size :]
                c *= f
                g *= i
                c += g
                np.tanh(c, out=tanh_c)
                h = np.multiply(o, tanh_c, out=ys[t])
        return ys, (h.copy(), c)

    def _forward_states(self, x, hx):
        batch = x.shape[1]
        h0 = self._initial(None if hx is None else hx[0], batch)
        c0 = self._initial(None if hx is None else hx[1], batch)
        out, finals = self._run(x, [(h0[k], c0[k]) for k in range(len(h0))])
        h = from_numpy(np.stack([s[0] for s in finals]).astype(np.float32))
        c = from_numpy(np.stack([s[1] for s in finals]).astype(np.float32))
        if x.shape[1] == 1 and hx is not None and hx[0].dim() == 2:
            h, c = h[:, 0], c[:, 0]
        return out, (h, c)

    def _get_name(self):
        return "DynamicQuantizedLSTM"


class GRU(_QuantizedRNNBase):
    _FLOAT = nn.GRU
    _GATES = 3

    def _scan(self, projected, w_hh, h, reduce_range):
        """The recurrence over (T, B, 3H) input products (see `LSTM._scan`)."""
        steps, batch, width = projected.shape
        size = width // 3
        ys = np.empty((steps, batch, size), np.float32)
        product = w_hh.bind(batch)
        with np.errstate(over="ignore"):
            for t in range(steps):
                _, scale, zero_point = _qparams.quantize_activations(h, reduce_range, product.input)
                hidden = product(scale, zero_point)
                xt = projected[t]
                rz = np.add(xt[:, : 2 * size], hidden[:, : 2 * size])
                _sigmoid_(rz)
                r, z = rz[:, :size], rz[:, size:]
                n = np.multiply(r, hidden[:, 2 * size :])
                n += xt[:, 2 * size :]
                np.tanh(n, out=n)
                n *= _ONE - z
                h = np.add(n, np.multiply(z, h), out=ys[t])
        return ys, h.copy()

    def _forward_states(self, x, hx):
        h0 = self._initial(hx, x.shape[1])
        out, finals = self._run(x, list(h0))
        h = from_numpy(np.stack(finals).astype(np.float32))
        if x.shape[1] == 1 and hx is not None and hx.dim() == 2:
            h = h[:, 0]
        return out, h

    def _get_name(self):
        return "DynamicQuantizedGRU"
