"""RNN, LSTM, GRU and their cells, with PyTorch's parameter names, shapes and init."""

import math

from ember._ops import rnn as rnn_ops
from ember._ops.creation import empty, zeros
from ember._ops.packed_sequence import PackedLayout
from ember._ops.shape import cat, stack
from ember.nn import init
from ember.nn.modules._factory import factory_kwargs
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.nn.utils.rnn import PackedSequence, _with_pad_row

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _uniform_param(shape, bound, factory):
    return Parameter(init.uniform_(empty(shape, **factory), -bound, bound))


class RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrent network over a whole sequence."""

    def __init__(
        self,
        mode,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = factory_kwargs(self, device, dtype)
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than or equal to 1")
        if not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                "element being zeroed"
            )
        if proj_size:
            raise NotImplementedError("ember's LSTM does not support proj_size yet")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        self._flat_weights_names = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                layer_in = input_size if layer == 0 else hidden_size * self.num_directions
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_in), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for name, shape in zip(names, shapes):
                    setattr(self, name, _uniform_param(shape, bound, factory))
                    self._flat_weights_names.append(name)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def all_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self):
        pass

    def _layer_params(self, layer, suffix):
        get = lambda n: getattr(self, f"{n}_l{layer}{suffix}")  # noqa: E731
        if self.bias:
            return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")
        return get("weight_ih"), get("weight_hh"), None, None

    def _check_input(self, input, hx):
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D "
                "tensor instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{input.shape[-1]}"
            )

    def _initial_states(self, hx, B, like):
        """(h0, c0) of shape (layers * directions, B, H); c0 is None unless LSTM."""
        n_states = self.num_layers * self.num_directions
        is_lstm = self.mode == "LSTM"
        if hx is None:
            h0 = zeros((n_states, B, self.hidden_size), dtype=like.dtype, device=like.device)
            hx = (h0, h0) if is_lstm else h0
        h0s = hx[0] if is_lstm else hx
        c0s = hx[1] if is_lstm else None
        expected = (n_states, B, self.hidden_size)
        for h in (h0s, c0s) if is_lstm else (h0s,):
            if tuple(h.shape) != expected:
                raise RuntimeError(f"Expected hidden size {expected}, got {list(h.shape)}")
        return h0s, c0s

    def _run(self, x, h0, c0, layer, direction, last=None):
        """One direction of one layer over x (T, B, F): (out, h_n, c_n or None)."""
        params = self._layer_params(layer, "_reverse" if direction else "")
        if self.mode == "LSTM":
            return rnn_ops.LSTMLayer.apply(x, h0, c0, *params, last)
        if self.mode == "GRU":
            return (*rnn_ops.GRULayer.apply(x, h0, *params, last), None)
        nonlin = "tanh" if self.mode == "RNN_TANH" else "relu"
        return (*rnn_ops.RNNLayer.apply(x, h0, *params, nonlin, last), None)

    def _between_layers(self, layer_input, layer):
        if self.dropout and self.training and layer < self.num_layers - 1:
            from ember.nn import functional as F

            return F.dropout(layer_input, self.dropout, True)
        return layer_input

    def _final_states(self, h_n, c_n):
        h_n = stack(h_n)
        return (h_n, stack(c_n)) if self.mode == "LSTM" else h_n

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input, hx)
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        h0s, c0s = self._initial_states(hx, input.shape[1], input)
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                x = layer_input.flip(0) if direction else layer_input
                c0 = None if c0s is None else c0s[k]
                out, h, c = self._run(x, h0s[k], c0, layer, direction)
                outs.append(out.flip(0) if direction else out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outs[0] if len(outs) == 1 else cat(outs, -1)
            layer_input = self._between_layers(layer_input, layer)
        output = layer_input
        hidden = self._final_states(h_n, c_n)
        if not batched:
            output = output.squeeze(1)
            hidden = tuple(h.squeeze(1) for h in hidden) if c0s is not None else hidden.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, hidden

    def _forward_packed(self, packed, hx):
        """A packed batch: each sequence runs over its own steps only.

        Every direction of every layer gathers its input from the packed rows into a
        (T, B, F) batch (the reverse direction reads each sequence backwards from its own last
        step), runs the fused layer with each row's last step, and gathers the valid output
        steps back into packed rows.
        """
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.dim() != 2 or data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{type(self).__name__}: packed input data must have shape (N, "
                f"{self.input_size}), got {list(data.shape)}"
            )
        layout = PackedLayout(batch_sizes)
        if hx is not None and sorted_indices is not None:
            order = sorted_indices
            hx = tuple(h[:, order] for h in hx) if isinstance(hx, tuple) else hx[:, order]
        h0s, c0s = self._initial_states(hx, layout.batch, data)
        layer_data = data
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            source = _with_pad_row(layer_data, 0.0)
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                x = source[layout.reverse_index if direction else layout.index]
                c0 = None if c0s is None else c0s[k]
                out, h, c = self._run(x, h0s[k], c0, layer, direction, layout.last)
                outs.append(out[layout.reverse_t_of if direction else layout.t_of, layout.b_of])
                h_n.append(h)
                c_n.append(c)
            layer_data = outs[0] if len(outs) == 1 else cat(outs, -1)
            layer_data = self._between_layers(layer_data, layer)
        hidden = self._final_states(h_n, c_n)
        if unsorted_indices is not None:
            order = unsorted_indices
            hidden = tuple(h[:, order] for h in hidden) if c0s is not None else hidden[:, order]
        return PackedSequence(layer_data, batch_sizes, sorted_indices, unsorted_indices), hidden

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN with tanh or ReLU."""

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def extra_repr(self):
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory; returns ``output, (h_n, c_n)``. Arguments as RNNBase's, without
    ``mode``."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit. Arguments as RNNBase's, without ``mode`` and ``proj_size``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        factory = factory_kwargs(self, device, dtype)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = _uniform_param((num_chunks * hidden_size, input_size), bound, factory)
        self.weight_hh = _uniform_param((num_chunks * hidden_size, hidden_size), bound, factory)
        if bias:
            self.bias_ih = _uniform_param((num_chunks * hidden_size,), bound, factory)
            self.bias_hh = _uniform_param((num_chunks * hidden_size,), bound, factory)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _project(self, input, hx):
        gi = input @ self.weight_ih.t()
        gh = hx @ self.weight_hh.t()
        if self.bias:
            gi = gi + self.bias_ih
            gh = gh + self.bias_hh
        return gi, gh

    def _prepare(self, input, hx, n_states=1):
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead"
            )
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
            hx = (z, z) if n_states == 2 else z
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if n_states == 2 else hx.unsqueeze(0)
        return input, hx, batched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, batched = self._prepare(input, hx)
        gi, gh = self._project(input, hx)
        pre = gi + gh
        h = pre.tanh() if self.nonlinearity == "tanh" else pre.clamp(min=0)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        input, (h, c), batched = self._prepare(input, hx, 2)
        gi, gh = self._project(input, h)
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, h, batched = self._prepare(input, hx)
        gi, gh = self._project(input, h)
        ir, iz, in_ = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r = (ir + hr).sigmoid()
        z = (iz + hz).sigmoid()
        n = (in_ + r * hn).tanh()
        out = (1 - z) * n + z * h
        return out if batched else out.squeeze(0)
