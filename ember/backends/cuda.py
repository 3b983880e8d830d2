"""CUDA math flags: settable and readable as in PyTorch; ember's CPU kernels ignore them.

``matmul.allow_tf32`` is the same setting as ``ember.get_float32_matmul_precision()`` (TF32
allowed means any precision but ``'highest'``), as it is in PyTorch.
"""

from ember import _runtime

__all__ = ["matmul", "is_built"]


class _MatmulFlags:
    """``ember.backends.cuda.matmul``: a fixed set of flags; unknown names are an error."""

    _reduced_precision = {
        "allow_fp16_reduced_precision_reduction": True,
        "allow_bf16_reduced_precision_reduction": True,
    }

    def __getattr__(self, name):
        if name == "allow_tf32":
            return _runtime.get_float32_matmul_precision() != "highest"
        if name in self._reduced_precision:
            return self._reduced_precision[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            _runtime.set_float32_matmul_precision("high" if value else "highest")
        elif name in self._reduced_precision:
            self._reduced_precision[name] = bool(value)
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _MatmulFlags()


def is_built():
    """Whether ember was built with CUDA support: it has no GPU backend yet."""
    return False
