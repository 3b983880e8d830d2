"""Values handed to a SummaryWriter as NumPy arrays: tensors, arrays, numbers and lists."""

import numpy as np

from ember._tensor import Tensor


def to_numpy(value, op):
    """``value`` as a NumPy array; ``op`` names the writer method in errors."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (int, float, bool, np.number, list, tuple)):
        return np.asarray(value)
    raise TypeError(
        f"SummaryWriter.{op}: expected a Tensor, a NumPy array or a number, "
        f"got {type(value).__name__}"
    )
