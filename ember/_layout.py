"""Tensor layouts (``torch.strided`` and the sparse ones), mirroring ``torch.layout``.

Every ember tensor is strided (dense). The other layouts exist so that programs can name,
compare and pickle them; a factory asked for one of them refuses with a clear error, as ember
has no sparse tensors.
"""

from ember import _dtype

__all__ = [
    "layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
    "jagged", "check_layout",
]  # fmt: skip


class layout:
    """A tensor layout; the instances below are the only ones, compared by identity."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"{_dtype.repr_package}.{self.name}"

    def __reduce__(self):
        return self.name  # the module-level singleton of that name, when unpickled

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
_mkldnn = layout("_mkldnn")


def _no_new_instances(cls, *args, **kwargs):
    raise TypeError(f"cannot create '{_dtype.repr_package}.layout' instances")


layout.__new__ = _no_new_instances


def check_layout(value, op):
    """Accept ``None`` (the default) and ``strided``; refuse other layouts and non-layouts."""
    if value is None or value is strided:
        return
    if not isinstance(value, layout):
        raise TypeError(
            f"{op}(): argument 'layout' must be {_dtype.repr_package}.layout, not "
            f"{type(value).__name__}"
        )
    raise NotImplementedError(
        f"{op}(): layout={value!r} is not supported: ember has only strided (dense) tensors"
    )
