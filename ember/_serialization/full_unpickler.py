"""The unpickler behind ``ember.load(weights_only=False)``: the user trusts the file.

It unpickles as Python does (so whole modules, NumPy arrays and any other picklable object come
back), with PyTorch's names mapped to ember's: the tensor rebuild functions, storage types and
dtypes to ember's own, and any other ``torch.X`` to ``ember.X`` where ember has it. Before
unpickling, the opcodes are scanned once so that a corrupt memo index cannot make Python's
unpickler allocate gigabytes (its memo is an array indexed by that number).
"""

import importlib
import io
import pickle
import pickletools

from ember._serialization.errors import CheckpointError
from ember._serialization.unpickler import builtin_globals, storage_id

__all__ = ["TrustedUnpickler", "check_memo_indices"]

_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


def check_memo_indices(data, what):
    """Refuse a pickle whose memo indices exceed its length (a real pickler numbers memo
    entries 0, 1, 2, ..., each costing at least two bytes of the pickle)."""
    limit = len(data)
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in _MEMO_OPS and not 0 <= int(arg) <= limit:
                raise CheckpointError(
                    f"{what}: data.pkl uses memo index {arg}, impossible in a pickle of "
                    f"{limit} bytes (the file is corrupt)"
                )
    except CheckpointError:
        raise
    except Exception as e:  # genops reports a malformed pickle with ValueError and others
        raise CheckpointError(f"{what}: data.pkl is corrupt ({e})") from None


class TrustedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` with PyTorch's globals mapped to ember and storages from the
    archive; ``load_storage(kind, key, location, numel)`` returns one."""

    def __init__(self, data, what, load_storage, **pickle_load_args):
        super().__init__(io.BytesIO(data), **pickle_load_args)
        self._what = what
        self._load_storage = load_storage
        # the rebuild functions, storage types, dtypes, Size and device that weights_only
        # loading uses; any other ``torch.X`` becomes ``ember.X``
        self._mapped = {k: v for k, v in builtin_globals().items() if k.startswith("torch.")}

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full in self._mapped:
            return self._mapped[full]
        if module == "torch" or module.startswith("torch."):
            return self._ember_counterpart(module, name)
        return super().find_class(module, name)

    def _ember_counterpart(self, module, name):
        target = "ember" + module[len("torch") :]
        try:
            obj = importlib.import_module(target)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            raise CheckpointError(
                f"{self._what} needs {module}.{name}, which ember does not have ({target}.{name})"
            ) from None
        return obj

    def persistent_load(self, pid):
        kind, key, location, numel = storage_id(pid, self._what)
        return self._load_storage(kind, key, location, numel)
