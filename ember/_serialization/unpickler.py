"""The unpickler behind ``ember.load(weights_only=True)``: PyTorch's allowlist, opcode by opcode.

It reads ``data.pkl`` one opcode at a time and understands only the opcodes protocol 2 uses for
data: containers, numbers, strings, memo access, persistent storage ids, and calls. A call
(REDUCE, NEWOBJ) may only reach the globals a tensor checkpoint needs, mapped to ember's own
functions and classes, plus those the user admitted with ``add_safe_globals``. BUILD (which sets
attributes) applies only to fresh OrderedDicts (their ``_metadata``), to the packed parameters
of quantized layers (``torch.ScriptObject``, whose state is checked field by field) and to
instances of user-admitted classes; never to tensors, functions or classes. The memo is a
dict, so an index in the file costs nothing until something is stored there; every string's
length is checked against the bytes present. Nothing from the file is executed.
"""

import _compat_pickle
import codecs
import io
import pickle
import struct
from collections import Counter, OrderedDict

from ember import _device, _dtype
from ember._serialization import quantized, rebuild, safe_globals
from ember._serialization.dtypes import FROM_TORCH_DTYPE, FROM_TORCH_STORAGE
from ember._serialization.errors import CheckpointError, UnsafeCheckpointError
from ember._serialization.script_object import ScriptObject
from ember._subclasses import parameter_class
from ember._tensor import Size, Tensor

__all__ = ["WeightsUnpickler", "storage_id", "builtin_globals"]

# dtypes PyTorch has and ember does not; a checkpoint using them gets a precise error
_MISSING_DTYPES = (
    "uint16", "uint32", "uint64", "complex32", "quint4x2",
)  # fmt: skip
_UNSUPPORTED = {
    "torch._utils._rebuild_sparse_tensor": "sparse",
    "torch._utils._rebuild_nested_tensor": "nested",
    "torch._utils._rebuild_meta_tensor_no_storage": "meta",
    "torch._utils._rebuild_wrapper_subclass": "wrapper-subclass",
    "torch._utils._rebuild_device_tensor_from_numpy": "NumPy-backed device",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor": "device-from-CPU",
}


def _size(dims=()):
    dims = tuple(dims)
    if not all(type(d) is int for d in dims):
        raise CheckpointError(f"torch.Size of non-integers {dims!r:.80}")
    return Size(dims)


def _device_of(*args):
    try:
        return _device.device(*args)
    except (RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"invalid device {args!r:.80}: {e}") from None


def _parameter(data=None, requires_grad=True):
    return rebuild.rebuild_parameter(data, requires_grad, OrderedDict())


def _encode(text, encoding="utf-8"):
    if not isinstance(text, str) or codecs.lookup(encoding).name not in ("iso8859-1", "utf-8"):
        raise CheckpointError(f"unsupported bytes encoding {encoding!r:.40}")
    return text.encode(encoding)


def _bytearray(data=b""):
    if not isinstance(data, bytes | bytearray):
        raise CheckpointError(f"bytearray of {type(data).__name__}, expected bytes")
    return bytearray(data)


def _complex(real=0.0, imag=0.0):
    if not all(isinstance(v, int | float) for v in (real, imag)):
        raise CheckpointError("complex of non-numbers")
    return complex(real, imag)


def builtin_globals():
    """``{"module.name": ember object}`` for the globals PyTorch's weights_only admits."""
    Parameter = parameter_class()

    out = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.Size": _size,
        "torch.Tensor": Tensor,
        "torch.device": _device_of,
        "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray,
        "builtins.set": set,
        "builtins.complex": _complex,
        "torch._utils._rebuild_tensor": rebuild.rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": rebuild.rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": rebuild.rebuild_tensor_v3,
        "torch.storage.UntypedStorage": rebuild.StorageType("UntypedStorage", _dtype.uint8),
        "torch._utils._rebuild_parameter": rebuild.rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": rebuild.rebuild_parameter_with_state,
        "torch._tensor._rebuild_from_type_v2": rebuild.rebuild_from_type_v2,
        "torch.ScriptObject": ScriptObject,  # quantized layers' packed parameters, checked
    }
    out.update(quantized.GLOBALS)  # quantized tensors and schemes
    out.update((f"torch.{name}", d) for name, d in FROM_TORCH_DTYPE.items())
    for name, d in FROM_TORCH_STORAGE.items():
        # PyTorch 1.x named the storages of CUDA tensors torch.cuda.FloatStorage and so on
        out[f"torch.{name}"] = out[f"torch.cuda.{name}"] = rebuild.StorageType(name, d)
    out.update((name, rebuild.unsupported(kind)) for name, kind in _UNSUPPORTED.items())
    return out


def storage_id(pid, what):
    """``(StorageType, key, location, numel)`` of a persistent id, checked."""
    if not (
        type(pid) is tuple
        and len(pid) == 5
        and pid[0] == "storage"
        and isinstance(pid[1], rebuild.StorageType)
        and type(pid[2]) is str
        and type(pid[3]) is str
        and type(pid[4]) is int
        and pid[4] >= 0
    ):
        raise CheckpointError(f"{what}: unsupported persistent id {str(pid)[:80]}")
    return pid[1:]


class _Mark:
    """The MARK opcode's place on the stack."""


class WeightsUnpickler:
    """Unpickles ``data`` (bytes) for ``ember.load(weights_only=True)``.

    ``load_storage(kind, key, location, numel)`` returns the storage the persistent id names;
    ``encoding`` decodes Python 2 byte strings (``"bytes"`` keeps them as bytes), as in pickle.
    """

    def __init__(self, data, what, load_storage, encoding="ASCII"):
        self._file = io.BytesIO(data)
        self._size = len(data)
        self._encoding = encoding
        self._what = what
        self._load_storage = load_storage
        self._memo = {}
        self._stack = []
        self._builtins = builtin_globals()
        self._user = safe_globals.lookup()
        self._callable = {
            id(v)
            for v in self._builtins.values()
            if v is not Tensor and v is not ScriptObject and callable(v)
        }
        self._callable |= {id(v) for v in self._user.values()}
        self._user_types = {v for v in self._user.values() if isinstance(v, type)}
        self._ops = {op[0]: getattr(self, f"_op_{name}") for op, name in _OPCODES.items()}

    def load(self):
        read = self._file.read
        while True:
            code = read(1)
            if not code:
                raise CheckpointError(f"{self._what}: data.pkl ends before its STOP opcode")
            op = self._ops.get(code[0])
            if op is None:
                raise UnsafeCheckpointError(
                    f"Weights only load failed: {self._what} uses the pickle opcode {code!r}, "
                    "which weights_only loading does not support. Load with weights_only=False "
                    "only if you trust the file (unpickling can run arbitrary code)."
                )
            if op():
                result = self._pop()
                if self._stack:
                    raise CheckpointError(f"{self._what}: data.pkl leaves a malformed stack")
                return result

    # -- reading ------------------------------------------------------------------------------
    def _read(self, n):
        data = self._file.read(n)
        if len(data) != n:
            raise CheckpointError(f"{self._what}: data.pkl is truncated")
        return data

    def _pop(self):
        if not self._stack or self._stack[-1] is _Mark:
            raise CheckpointError(f"{self._what}: data.pkl pops from an empty stack")
        return self._stack.pop()

    def _top(self):
        if not self._stack or self._stack[-1] is _Mark:
            raise CheckpointError(f"{self._what}: data.pkl reads an empty stack")
        return self._stack[-1]

    def _pop_mark(self):
        stack = self._stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _Mark:
                items = stack[i + 1 :]
                del stack[i:]
                return items
        raise CheckpointError(f"{self._what}: data.pkl has no MARK to close")

    # -- opcodes ------------------------------------------------------------------------------
    def _op_proto(self):
        if self._read(1)[0] > pickle.HIGHEST_PROTOCOL:
            raise CheckpointError(f"{self._what}: data.pkl uses an unknown pickle protocol")

    def _op_stop(self):
        return True

    def _op_global(self):
        module = self._file.readline()[:-1].decode("utf-8")
        name = self._file.readline()[:-1].decode("utf-8")
        # protocol 2 writes Python 2's names for builtins (``__builtin__.set``)
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full in self._builtins:
            self._stack.append(self._builtins[full])
        elif full in self._user:
            self._stack.append(self._user[full])
        elif module == "torch" and name in _MISSING_DTYPES:
            raise CheckpointError(f"{self._what} holds tensors of dtype torch.{name}, which "
                                  "ember does not have")  # fmt: skip
        else:
            raise UnsafeCheckpointError(
                f"Weights only load failed: {self._what} uses the global {full} (GLOBAL "
                f"{full}), which weights_only=True does not allow by default. If you trust the "
                f"file, allow it with ember.serialization.add_safe_globals([{full}]) or the "
                f"ember.serialization.safe_globals([{full}]) context manager, or load with "
                "weights_only=False (only for files you trust: unpickling can run arbitrary "
                "code). Nothing from the file was run."
            )

    def _op_reduce(self):
        args = self._pop()
        func = self._pop()
        Parameter = parameter_class()

        if id(func) not in self._callable or not isinstance(args, tuple):
            raise UnsafeCheckpointError(
                f"Weights only load failed: {self._what} calls {func!r:.80}, which weights_only "
                "loading does not allow"
            )
        self._stack.append((_parameter if func is Parameter else func)(*args))

    def _op_newobj(self):
        Parameter = parameter_class()

        args = self._pop()
        cls = self._pop()
        if not isinstance(args, tuple):
            raise CheckpointError(f"{self._what}: NEWOBJ with non-tuple arguments")
        if cls is Parameter:
            self._stack.append(_parameter(*args))
        elif cls is ScriptObject and not args:
            self._stack.append(ScriptObject.__new__(ScriptObject))
        elif cls in (OrderedDict, Counter, set) or cls in self._user_types:
            self._stack.append(cls.__new__(cls, *args))
        else:
            raise UnsafeCheckpointError(
                f"Weights only load failed: {self._what} creates an object of {cls!r:.80}; "
                "weights_only loading creates only Parameters, containers and classes admitted "
                "with ember.serialization.add_safe_globals"
            )

    def _op_build(self):
        state = self._pop()
        inst = self._top()
        if type(inst) is OrderedDict:
            if not (isinstance(state, dict) and all(type(k) is str for k in state)):
                raise CheckpointError(f"{self._what}: invalid OrderedDict state")
            inst.__dict__.update(state)
        elif type(inst) is ScriptObject:
            inst.__setstate__(state)  # admits only quantized packed parameters, checked
        elif type(inst) in self._user_types:
            _set_state(inst, state)
        else:
            raise UnsafeCheckpointError(
                f"Weights only load failed: {self._what} sets attributes (BUILD) on "
                f"{type(inst).__name__}; weights_only loading sets them only on OrderedDicts "
                "and on classes admitted with ember.serialization.add_safe_globals"
            )

    def _op_append(self):
        item = self._pop()
        self._list().append(item)

    def _op_appends(self):
        items = self._pop_mark()
        self._list().extend(items)

    def _list(self):
        target = self._top()
        if type(target) is not list:
            raise CheckpointError(f"{self._what}: data.pkl appends to a {type(target).__name__}")
        return target

    def _op_setitem(self):
        value = self._pop()
        key = self._pop()
        self._dict()[key] = value

    def _op_setitems(self):
        items = self._pop_mark()
        if len(items) % 2:
            raise CheckpointError(f"{self._what}: SETITEMS with an odd number of items")
        target = self._dict()
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def _dict(self):
        target = self._top()
        if type(target) not in (dict, OrderedDict, Counter):
            raise CheckpointError(f"{self._what}: data.pkl sets items of a {type(target).__name__}")
        return target

    def _op_mark(self):
        self._stack.append(_Mark)

    def _op_tuple(self):
        self._stack.append(tuple(self._pop_mark()))

    def _op_tuple1(self):
        self._stack.append((self._pop(),))

    def _op_tuple2(self):
        b, a = self._pop(), self._pop()
        self._stack.append((a, b))

    def _op_tuple3(self):
        c, b, a = self._pop(), self._pop(), self._pop()
        self._stack.append((a, b, c))

    def _op_none(self):
        self._stack.append(None)

    def _op_newtrue(self):
        self._stack.append(True)

    def _op_newfalse(self):
        self._stack.append(False)

    def _op_empty_tuple(self):
        self._stack.append(())

    def _op_empty_list(self):
        self._stack.append([])

    def _op_empty_dict(self):
        self._stack.append({})

    def _op_empty_set(self):
        self._stack.append(set())

    def _op_binint(self):
        self._stack.append(struct.unpack("<i", self._read(4))[0])

    def _op_binint1(self):
        self._stack.append(self._read(1)[0])

    def _op_binint2(self):
        self._stack.append(struct.unpack("<H", self._read(2))[0])

    def _op_long1(self):
        n = self._read(1)[0]
        self._stack.append(int.from_bytes(self._read(n), "little", signed=True))

    def _op_binfloat(self):
        self._stack.append(struct.unpack(">d", self._read(8))[0])

    def _op_binunicode(self):
        (n,) = struct.unpack("<I", self._read(4))
        self._stack.append(str(self._read(n), "utf-8", "surrogatepass"))

    def _op_short_binstring(self):
        data = self._read(self._read(1)[0])
        self._stack.append(data if self._encoding == "bytes" else data.decode(self._encoding))

    def _op_binpersid(self):
        kind, key, location, numel = storage_id(self._pop(), self._what)
        self._stack.append(self._load_storage(kind, key, location, numel))

    def _op_binget(self):
        self._get(self._read(1)[0])

    def _op_long_binget(self):
        self._get(struct.unpack("<I", self._read(4))[0])

    def _get(self, i):
        if i not in self._memo:
            raise CheckpointError(f"{self._what}: data.pkl reads memo entry {i}, never stored")
        self._stack.append(self._memo[i])

    def _op_binput(self):
        self._memo[self._read(1)[0]] = self._top()

    def _op_long_binput(self):
        i = struct.unpack("<I", self._read(4))[0]
        if i > self._size:  # a real pickler numbers memo entries 0, 1, 2, ...
            raise CheckpointError(
                f"{self._what}: data.pkl uses memo index {i}, impossible in a pickle of "
                f"{self._size} bytes (the file is corrupt)"
            )
        self._memo[i] = self._top()


_OPCODES = {
    pickle.PROTO: "proto", pickle.STOP: "stop", pickle.GLOBAL: "global",
    pickle.REDUCE: "reduce", pickle.NEWOBJ: "newobj", pickle.BUILD: "build",
    pickle.APPEND: "append", pickle.APPENDS: "appends", pickle.SETITEM: "setitem",
    pickle.SETITEMS: "setitems", pickle.MARK: "mark", pickle.TUPLE: "tuple",
    pickle.TUPLE1: "tuple1", pickle.TUPLE2: "tuple2", pickle.TUPLE3: "tuple3",
    pickle.NONE: "none", pickle.NEWTRUE: "newtrue", pickle.NEWFALSE: "newfalse",
    pickle.EMPTY_TUPLE: "empty_tuple", pickle.EMPTY_LIST: "empty_list",
    pickle.EMPTY_DICT: "empty_dict", pickle.EMPTY_SET: "empty_set", pickle.BININT: "binint",
    pickle.BININT1: "binint1", pickle.BININT2: "binint2", pickle.LONG1: "long1",
    pickle.BINFLOAT: "binfloat", pickle.BINUNICODE: "binunicode",
    pickle.SHORT_BINSTRING: "short_binstring", pickle.BINPERSID: "binpersid",
    pickle.BINGET: "binget", pickle.LONG_BINGET: "long_binget", pickle.BINPUT: "binput",
    pickle.LONG_BINPUT: "long_binput",
}  # fmt: skip


def _set_state(inst, state):
    """What pickle's BUILD does, for an instance of a class the user admitted."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    if state:
        inst.__dict__.update(state)
    for k, v in (slots or {}).items():
        setattr(inst, k, v)
