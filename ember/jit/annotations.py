"""torch.jit.annotations: the type names TorchScript code annotates with. They are ``typing``'s
(``BroadcastingListN[T]`` is a ``T`` or a list of N of them, which Python sees as a list)."""

from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: UP035 - PyTorch's names

from ember.jit._fork import Future
from ember.nn import Module

__all__ = [
    "Any", "BroadcastingList1", "BroadcastingList2", "BroadcastingList3", "Dict", "Future",
    "List", "Module", "Optional", "Tuple", "Union",
]  # fmt: skip

BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = list
