"""``torch.storage``: the storage classes (defined in ``ember._ops.storage``)."""

from ember._ops.storage import UntypedStorage
from ember._ops.typed_storage import TypedStorage

__all__ = ["TypedStorage", "UntypedStorage"]
