"""Embedding and EmbeddingBag: lookup tables of learnable rows."""

from ember._ops.creation import empty
from ember.autograd.grad_mode import no_grad
from ember.nn import functional as F
from ember.nn import init
from ember.nn.modules._factory import factory_kwargs
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter

__all__ = ["Embedding", "EmbeddingBag"]


def _store_options(table, sizes, max_norm, norm_type, scale_grad_by_freq):
    """Keep a lookup table's sizes and options; a negative ``padding_idx`` counts from the end
    (``sizes`` also names it as the layer's error message does)."""
    num_embeddings, embedding_dim, padding_idx, padding_name = sizes
    if padding_idx is not None:
        if not -num_embeddings <= padding_idx < num_embeddings:
            raise AssertionError(f"{padding_name} must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += num_embeddings
    table.num_embeddings = num_embeddings
    table.embedding_dim = embedding_dim
    table.padding_idx = padding_idx
    table.max_norm = max_norm
    table.norm_type = norm_type
    table.scale_grad_by_freq = scale_grad_by_freq


def _reset_rows(weight, padding_idx):
    """Standard normal rows, except a zero row at ``padding_idx``."""
    init.normal_(weight)
    if padding_idx is not None:
        with no_grad():
            weight[padding_idx].fill_(0)


def _norm_options_repr(table):
    """The max-norm and gradient-scaling options of a table's repr, where not at defaults."""
    s = ""
    if table.max_norm is not None:
        s += f", max_norm={table.max_norm}"
    if table.norm_type != 2:
        s += f", norm_type={table.norm_type}"
    if table.scale_grad_by_freq is not False:
        s += ", scale_grad_by_freq=True"
    return s


class Embedding(Module):
    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
        _weight=None,
        _freeze=False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = factory_kwargs(self, device, dtype)
        sizes = (num_embeddings, embedding_dim, padding_idx, "Padding_idx")
        _store_options(self, sizes, max_norm, norm_type, scale_grad_by_freq)
        self.sparse = sparse
        if _weight is None:
            shape = (num_embeddings, embedding_dim)
            self.weight = Parameter(empty(shape, **factory), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        _reset_rows(self.weight, self.padding_idx)

    def forward(self, input):
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        s += _norm_options_repr(self)
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze=True,
        padding_idx=None,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        sparse=False,
    ):
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=embeddings.detach(),
            _freeze=freeze,
        )


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embedding rows (see ``F.embedding_bag``)."""

    def __init__(
        self,
        num_embeddings,
        embedding_dim,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        mode="mean",
        sparse=False,
        _weight=None,
        include_last_offset=False,
        padding_idx=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        factory = factory_kwargs(self, device, dtype)
        sizes = (num_embeddings, embedding_dim, padding_idx, "padding_idx")
        _store_options(self, sizes, max_norm, norm_type, scale_grad_by_freq)
        if _weight is None:
            shape = (num_embeddings, embedding_dim)
            self.weight = Parameter(empty(shape, **factory))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(
                    f"Shape of weight {list(_weight.shape)} does not match num_embeddings and "
                    f"embedding_dim [{num_embeddings}, {embedding_dim}]"
                )
            self.weight = Parameter(_weight)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self):
        _reset_rows(self.weight, self.padding_idx)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}" + _norm_options_repr(self)
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze=True,
        max_norm=None,
        norm_type=2.0,
        scale_grad_by_freq=False,
        mode="mean",
        sparse=False,
        include_last_offset=False,
        padding_idx=None,
    ):
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(
            rows,
            cols,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            mode,
            sparse,
            embeddings.detach(),
            include_last_offset,
            padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
