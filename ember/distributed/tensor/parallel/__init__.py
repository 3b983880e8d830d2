"""``torch.distributed.tensor.parallel``: tensor-parallel plans.

The styles are value objects holding their layouts, so a library can build and inspect a plan;
applying one (``parallelize_module``) needs sharded tensors and raises NotImplementedError.
"""

from ember.distributed.tensor._api import _unsupported

__all__ = [
    "ColwiseParallel", "ParallelStyle", "PrepareModuleInput", "PrepareModuleInputOutput",
    "PrepareModuleOutput", "RowwiseParallel", "SequenceParallel", "parallelize_module",
    "loss_parallel",
]  # fmt: skip


class ParallelStyle:
    """Base of tensor-parallel styles: how one module's parameters and activations are laid out."""

    def _apply(self, module, device_mesh):
        raise _unsupported(f"applying {type(self).__name__}")

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class ColwiseParallel(ParallelStyle):
    """Shard a Linear's weight by output features (an Embedding's by embedding dimension)."""

    def __init__(self, *, input_layouts=None, output_layouts=None, use_local_output=True):
        self.input_layouts = input_layouts
        self.output_layouts = output_layouts
        self.use_local_output = use_local_output


class RowwiseParallel(ParallelStyle):
    """Shard a Linear's weight by input features (an Embedding's by vocabulary)."""

    def __init__(self, *, input_layouts=None, output_layouts=None, use_local_output=True):
        self.input_layouts = input_layouts
        self.output_layouts = output_layouts
        self.use_local_output = use_local_output


class SequenceParallel(ParallelStyle):
    """Run a norm or dropout on activations sharded along the sequence dimension."""

    def __init__(self, *, sequence_dim=1, use_local_output=False):
        self.sequence_dim = sequence_dim
        self.use_local_output = use_local_output


class PrepareModuleInput(ParallelStyle):
    """Redistribute a module's inputs to the layouts it expects."""

    def __init__(
        self,
        *,
        input_layouts=None,
        desired_input_layouts=None,
        input_kwarg_layouts=None,
        desired_input_kwarg_layouts=None,
        use_local_output=False,
    ):
        self.input_layouts = input_layouts
        self.desired_input_layouts = desired_input_layouts
        self.input_kwarg_layouts = input_kwarg_layouts
        self.desired_input_kwarg_layouts = desired_input_kwarg_layouts
        self.use_local_output = use_local_output


class PrepareModuleOutput(ParallelStyle):
    """Redistribute a module's outputs to the layouts its callers expect."""

    def __init__(self, *, output_layouts, desired_output_layouts, use_local_output=True):
        self.output_layouts = output_layouts
        self.desired_output_layouts = desired_output_layouts
        self.use_local_output = use_local_output


class PrepareModuleInputOutput(ParallelStyle):
    """PrepareModuleInput and PrepareModuleOutput on one module."""

    def __init__(
        self,
        *,
        input_layouts=None,
        desired_input_layouts=None,
        input_kwarg_layouts=None,
        desired_input_kwarg_layouts=None,
        use_local_input=False,
        output_layouts,
        desired_output_layouts,
        use_local_output=True,
    ):
        self.input_layouts = input_layouts
        self.desired_input_layouts = desired_input_layouts
        self.input_kwarg_layouts = input_kwarg_layouts
        self.desired_input_kwarg_layouts = desired_input_kwarg_layouts
        self.use_local_input = use_local_input
        self.output_layouts = output_layouts
        self.desired_output_layouts = desired_output_layouts
        self.use_local_output = use_local_output


def parallelize_module(module, device_mesh=None, parallelize_plan=None, *, src_data_rank=0):
    raise _unsupported("torch.distributed.tensor.parallel.parallelize_module")


def loss_parallel():
    """A context manager in PyTorch; here calling it raises, before any ``with`` body runs."""
    raise _unsupported("torch.distributed.tensor.parallel.loss_parallel")
