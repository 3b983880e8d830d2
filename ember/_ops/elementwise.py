"""All elementwise ops in one namespace: arithmetic (``arithmetic.py``), unary math
(``unary.py``) and comparisons, logical ops and ``where`` (``comparison.py``). The top-level
``ember`` namespace star-imports this module."""

from ember._ops import arithmetic, comparison, unary
from ember._ops.arithmetic import *  # noqa: F403
from ember._ops.comparison import *  # noqa: F403
from ember._ops.unary import *  # noqa: F403

__all__ = [*arithmetic.__all__, *comparison.__all__, *unary.__all__]
