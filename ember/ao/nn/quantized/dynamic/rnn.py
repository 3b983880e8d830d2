"""Dynamically quantized LSTM and GRU: int8 weights, activations quantized at each product.

Made from a float ``nn.LSTM``/``nn.GRU`` by ``quantize_dynamic``: every input-to-hidden and
hidden-to-hidden weight is quantized to int8 once and packed for the int8 kernel. A forward
quantizes the whole input sequence once per layer for the input products, and the hidden
state at each step for the recurrent product, as PyTorch's dynamic LSTM does; the gate
nonlinearities run in float32. Inference only: nothing is trained through these layers.
"""

import numpy as np

from ember import nn
from ember._ops.creation import from_numpy
from ember.ao.quantization import _qparams
from ember.backends.registry import kernels


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pack(weight, bias):
    scale, values = _qparams.weight_qparams(weight.detach().numpy().astype(np.float32), False)
    b = None if bias is None else bias.detach().numpy().astype(np.float32)
    return kernels.int8_linear_pack(values, np.asarray(scale, np.float32), b)


def _product(packed, x):
    """float32 x @ W.T + b through the int8 kernel (activations quantized here)."""
    q, scale, zero_point = _qparams.quantize_activations(np.ascontiguousarray(x, np.float32))
    return packed.run(q, scale, zero_point)


class _QuantizedRNNBase(nn.Module):
    _FLOAT = None
    _GATES = 0

    def __init__(self, mod):
        super().__init__()
        for name in ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "bidirectional"):  # fmt: skip
            setattr(self, name, getattr(mod, name))
        if getattr(mod, "proj_size", 0):
            raise NotImplementedError(f"quantize_dynamic: {type(mod).__name__} with proj_size")
        self.directions = 2 if mod.bidirectional else 1
        self._cells = []
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[: self.directions]:
                ih = getattr(mod, f"weight_ih_l{layer}{suffix}")
                hh = getattr(mod, f"weight_hh_l{layer}{suffix}")
                b_ih = getattr(mod, f"bias_ih_l{layer}{suffix}", None) if self.bias else None
                b_hh = getattr(mod, f"bias_hh_l{layer}{suffix}", None) if self.bias else None
                self._cells.append((_pack(ih, b_ih), _pack(hh, b_hh)))

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if type(mod) is not cls._FLOAT:
            raise TypeError(
                f"{cls.__name__}.from_float: expected nn.{cls._FLOAT.__name__}, "
                f"got {type(mod).__name__}"
            )
        return cls(mod)

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
                w_ih, w_hh = self._cells[k]
                seq = outputs if d == 0 else outputs[::-1]
                t, b, _ = seq.shape
                projected = _product(w_ih, seq.reshape(t * b, -1)).reshape(t, b, -1)
                ys, state = self._scan(projected, w_hh, states[k])
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
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class LSTM(_QuantizedRNNBase):
    _FLOAT = nn.LSTM

    def _scan(self, projected, w_hh, state):
        h, c = state
        ys = []
        for xt in projected:
            gates = xt + _product(w_hh, h)
            i, f, g, o = np.split(gates, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            ys.append(h)
        return np.stack(ys), (h, c)

    def _forward_states(self, x, hx):
        batch = x.shape[1]
        h0 = self._initial(None if hx is None else hx[0], batch)
        c0 = self._initial(None if hx is None else hx[1], batch)
        out, finals = self._run(x, [(h0[k], c0[k]) for k in range(len(self._cells))])
        h = from_numpy(np.stack([s[0] for s in finals]).astype(np.float32))
        c = from_numpy(np.stack([s[1] for s in finals]).astype(np.float32))
        if x.shape[1] == 1 and hx is not None and hx[0].dim() == 2:
            h, c = h[:, 0], c[:, 0]
        return out, (h, c)

    def _get_name(self):
        return "DynamicQuantizedLSTM"


class GRU(_QuantizedRNNBase):
    _FLOAT = nn.GRU

    def _scan(self, projected, w_hh, h):
        ys = []
        for xt in projected:
            hidden = _product(w_hh, h)
            x_r, x_z, x_n = np.split(xt, 3, axis=1)
            h_r, h_z, h_n = np.split(hidden, 3, axis=1)
            r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
            n = np.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
            ys.append(h)
        return np.stack(ys), h

    def _forward_states(self, x, hx):
        h0 = self._initial(hx, x.shape[1])
        out, finals = self._run(x, [h0[k] for k in range(len(self._cells))])
        h = from_numpy(np.stack(finals).astype(np.float32))
        if x.shape[1] == 1 and hx is not None and hx.dim() == 2:
            h = h[:, 0]
        return out, h

    def _get_name(self):
        return "DynamicQuantizedGRU"
