"""DTensor and the functions that would make one.

ember has no sharded tensors, so no DTensor can exist: the class is here so that
``isinstance(x, DTensor)`` checks and type annotations in libraries work (they are False for
every ember tensor), and each way to build or apply one raises NotImplementedError naming it.
"""

from ember._tensor import Tensor

__all__ = ["DTensor", "distribute_tensor", "distribute_module"]


def _unsupported(what):
    return NotImplementedError(
        f"ember does not implement {what}: it has no sharded (distributed) tensors; "
        "use DistributedDataParallel or per-rank tensors with collectives instead"
    )


class DTensor(Tensor):
    """A tensor sharded or replicated over a DeviceMesh (never instantiated in ember)."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise _unsupported("torch.distributed.tensor.DTensor")

    @staticmethod
    def from_local(local_tensor, device_mesh=None, placements=None, **kwargs):
        raise _unsupported("DTensor.from_local")


def distribute_tensor(tensor, device_mesh=None, placements=None, **kwargs):
    raise _unsupported("torch.distributed.tensor.distribute_tensor")


def distribute_module(module, device_mesh=None, partition_fn=None, *args, **kwargs):
    raise _unsupported("torch.distributed.tensor.distribute_module")


def _factory(name):
    def factory(*args, **kwargs):
        raise _unsupported(f"torch.distributed.tensor.{name}")

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"``torch.distributed.tensor.{name}``: a DTensor factory (unsupported)."
    return factory


zeros, ones, empty, full, rand, randn = map(
    _factory, ("zeros", "ones", "empty", "full", "rand", "randn")
)
