"""``torch.ScriptObject``: the packed parameters of PyTorch's quantized layers in a checkpoint.

PyTorch stores a dynamically quantized layer's weights as TorchScript class instances: a
Linear's as ``LinearPackedParamsBase`` with state ``(int8 weight, bias)``, an LSTM or GRU
cell's as ``CellParamsBase`` with state ``("quantized_dynamic", [b_ih, b_hh], [],
[reduce_range], [packed w_ih, packed w_hh])``. A checkpoint writes one as ``ScriptObject``
created empty, then given ``(state, class name)``. ember holds the same state in this class
(``__getstate__()`` returns it as PyTorch's does) and admits only these two class names with
states of exactly these shapes, so loading one stores data and runs nothing.
"""

from ember._serialization.errors import CheckpointError
from ember._tensor import Tensor

__all__ = ["ScriptObject", "LINEAR_PACKED", "CELL_PARAMS"]

LINEAR_PACKED = "__torch__.torch.classes.quantized.LinearPackedParamsBase"
CELL_PARAMS = "__torch__.torch.classes.rnn.CellParamsBase"


class ScriptObject:
    """The state of one of PyTorch's quantized packed-parameter objects."""

    __slots__ = ("_state", "_class")

    def __init__(self, state, class_name):
        self.__setstate__((state, class_name))

    def __getstate__(self):
        return self._state, self._class

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 2):
            raise CheckpointError(
                f"a ScriptObject's state is (state, class name), got {type(state).__name__}"
            )
        body, name = state
        if name == LINEAR_PACKED:
            _check_linear(body)
        elif name == CELL_PARAMS:
            _check_cell(body)
        else:
            raise CheckpointError(
                f"the checkpoint holds a TorchScript object of class {name!r:.100}; ember loads "
                f"only quantized layers' packed parameters ({LINEAR_PACKED}, {CELL_PARAMS})"
            )
        self._state, self._class = body, name

    def __repr__(self):
        return f"ScriptObject <{self._class}>"


def _is_qint8(w):
    return getattr(w, "is_quantized", False) is True and not isinstance(w, Tensor)


def _check_linear(body):
    if not (
        isinstance(body, tuple)
        and len(body) == 2
        and _is_qint8(body[0])
        and (body[1] is None or isinstance(body[1], Tensor))
    ):
        raise CheckpointError(
            "LinearPackedParamsBase state must be (quantized weight, bias tensor or None), "
            f"got {_kinds(body)}"
        )


def _check_cell(body):
    if isinstance(body, tuple) and len(body) == 5 and body[0] != "quantized_dynamic":
        raise CheckpointError(
            f"the checkpoint holds {body[0]!r:.40} recurrent cell parameters; ember loads only "
            "'quantized_dynamic' (int8) ones"
        )
    if not (
        isinstance(body, tuple)
        and len(body) == 5
        and isinstance(body[1], list)
        and all(isinstance(t, Tensor) for t in body[1])
        and isinstance(body[2], list)
        and isinstance(body[3], list)
        and all(type(v) is int for v in body[3])
        and isinstance(body[4], list)
        and len(body[4]) == 2
        and all(type(p) is ScriptObject and _class_of(p) == LINEAR_PACKED for p in body[4])
    ):
        raise CheckpointError(
            "CellParamsBase state must be ('quantized_dynamic', [biases], [], [reduce_range], "
            f"[packed w_ih, packed w_hh]), got {_kinds(body)}"
        )


def _class_of(obj):
    """The class name of a ScriptObject, or None while it is being built (a state that
    refers to its own object)."""
    return getattr(obj, "_class", None)


def _kinds(body):
    if isinstance(body, tuple | list):
        return "(" + ", ".join(type(v).__name__ for v in body[:6]) + ")"
    return type(body).__name__
