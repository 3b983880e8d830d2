"""Pruning: a parameter reparametrised as ``orig * mask`` and recomputed before each forward.

Pruning ``module.weight`` moves the parameter to ``weight_orig``, adds a ``weight_mask``
buffer, sets ``module.weight`` to the product as a plain attribute, and registers the pruning
method as a forward pre-hook that recomputes it. Pruning the same parameter again combines
the methods in a `PruningContainer`: the new method only chooses among the entries (or, for a
structured method, the channels) the earlier masks kept, and an ``amount`` given as a fraction
is a fraction of those. `remove` makes the pruned product the parameter again.
"""

import numbers
from abc import ABC, abstractmethod

from ember._ops.creation import ones_like, rand, zeros_like
from ember._ops.index import topk
from ember._ops.reduce import sum as sum_
from ember._ops.shape import cat
from ember.autograd.grad_mode import no_grad

__all__ = [
    "BasePruningMethod",
    "PruningContainer",
    "Identity",
    "RandomUnstructured",
    "L1Unstructured",
    "RandomStructured",
    "LnStructured",
    "CustomFromMask",
    "identity",
    "random_unstructured",
    "l1_unstructured",
    "random_structured",
    "ln_structured",
    "global_unstructured",
    "custom_from_mask",
    "remove",
    "is_pruned",
]


def _check_amount(amount):
    """An amount is an int >= 0 (how many) or a float in [0, 1] (which fraction)."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
        not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0
    ):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer"
        )


def _count_to_prune(amount, size):
    """How many of ``size`` units ``amount`` prunes; an int larger than ``size`` is an error."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(
                f"amount={amount} should be smaller than the number of parameters to prune={size}"
            )
        return int(amount)
    return round(float(amount) * size)


def _check_dim(t, dim):
    if t.dim() <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor of "
            f"shape {tuple(t.shape)} with {t.dim()} dims"
        )
    if not -t.dim() <= dim < t.dim():
        raise IndexError(
            f"Invalid index {dim} for tensor of size {tuple(t.shape)}: pruning dim out of range"
        )
    return dim % t.dim()


def _channel_norms(t, n, dim):
    """The ``n``-norm of each slice of ``t`` along ``dim`` (over every other dim)."""
    others = [d for d in range(t.dim()) if d != dim]
    if n == float("inf"):
        return t.abs().amax(dim=others)
    return t.abs().pow(n).sum(dim=others).pow(1.0 / n)


def _along(values, dim, ndim):
    """A 1-D tensor shaped to broadcast along ``dim`` of an ``ndim``-d tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return values.reshape(shape)


class BasePruningMethod(ABC):
    """A way to compute a mask, applied as a forward pre-hook that recomputes the pruned tensor."""

    _tensor_name: str
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask for ``t``, starting from ``default_mask`` (ones when nothing is pruned yet)."""

    def apply_mask(self, module):
        if not hasattr(self, "_tensor_name"):
            raise AttributeError(f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        earlier = _pruning_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if earlier is not None:
            key, old = earlier
            if isinstance(old, PruningContainer):
                container = old
                container.add_pruning_method(method)
            else:
                container = PruningContainer(old)
                container.add_pruning_method(method)
            del module._forward_pre_hooks[key]
            method = container

        orig = getattr(module, name)
        if importance_scores is not None and tuple(importance_scores.shape) != tuple(orig.shape):
            raise ValueError(
                f"importance_scores should have the same shape as parameter {name} of {module}"
            )
        scores = orig if importance_scores is None else importance_scores
        if earlier is None:
            default_mask = ones_like(orig)
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()

        with no_grad():
            mask = method.compute_mask(scores.detach(), default_mask=default_mask)
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes for it (``t`` itself is not changed)."""
        scores = t if importance_scores is None else importance_scores
        mask = ones_like(t) if default_mask is None else default_mask
        with no_grad():
            return t * self.compute_mask(scores, default_mask=mask)

    def remove(self, module):
        """Make the pruned product the parameter again, dropping ``_orig`` and ``_mask``."""
        if not hasattr(self, "_tensor_name"):
            raise AttributeError(f"Module {module} has to be pruned before pruning can be removed")
        name = self._tensor_name
        weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        with no_grad():
            orig.copy_(weight)
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _pruning_hook(module, name):
    """(hook key, method) of the pruning already acting on ``module.name``, or None."""
    found = [
        (key, hook)
        for key, hook in module._forward_pre_hooks.items()
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name
    ]
    if len(found) > 1:
        raise RuntimeError(f"More than one pruning hook acts on parameter {name} of {module}")
    return found[0] if found else None


class PruningContainer(BasePruningMethod):
    """Successive pruning methods on one parameter; each acts on what the earlier ones kept."""

    def __init__(self, *methods):
        self._pruning_methods = ()
        if len(methods) == 1 and not isinstance(methods[0], BasePruningMethod):
            methods = tuple(methods[0])
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is None:
            return
        if hasattr(self, "_tensor_name") and method._tensor_name != self._tensor_name:
            raise ValueError(
                "Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer {self}. Found '{method._tensor_name}'"
            )
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = default_mask.to(dtype=t.dtype).clone()
        if method.PRUNING_TYPE == "unstructured":
            kept = default_mask == 1
            mask[kept] = method.compute_mask(t[kept], default_mask=default_mask[kept]).to(
                dtype=mask.dtype
            )
            return mask
        if method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need a dim")
            dim = method.dim % t.dim()
            others = [d for d in range(t.dim()) if d != dim]
            kept = (sum_(default_mask, dim=others) != 0).nonzero().flatten()
            sub_mask = method.compute_mask(
                t.index_select(dim, kept), default_mask=default_mask.index_select(dim, kept)
            )
            mask.index_copy_(dim, kept, sub_mask.to(dtype=mask.dtype))
            return mask
        if method.PRUNING_TYPE == "global":
            return method.compute_mask(t, default_mask=default_mask)
        raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        count = _count_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if count:
            chosen = topk(rand(t.numel()), k=count).indices
            mask.view(-1)[chosen] = 0
        return mask

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        count = _count_to_prune(self.amount, t.numel())
        mask = default_mask.clone()
        if count:
            smallest = topk(t.abs().reshape(-1), k=count, largest=False).indices
            mask.view(-1)[smallest] = 0
        return mask

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _check_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        dim = _check_dim(t, self.dim)
        channels = t.shape[dim]
        count = _count_to_prune(self.amount, channels)
        if count == 0:
            return default_mask
        draws = rand(channels)
        keep = zeros_like(draws)
        keep[topk(draws, k=channels - count).indices] = 1
        return _along(keep, dim, t.dim()).to(dtype=default_mask.dtype) * default_mask

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _check_amount(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        dim = _check_dim(t, self.dim)
        channels = t.shape[dim]
        count = _count_to_prune(self.amount, channels)
        if count == 0:
            return default_mask
        norms = _channel_norms(t, self.n, dim)
        keep = zeros_like(norms)
        keep[topk(norms, k=channels - count, largest=True).indices] = 1
        return _along(keep, dim, t.dim()).to(dtype=default_mask.dtype) * default_mask

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(
            module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores
        )


class CustomFromMask(BasePruningMethod):
    """Prunes where a given mask is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise RuntimeError(
                f"custom_from_mask: mask of shape {tuple(self.mask.shape)} does not match "
                f"parameter of shape {tuple(default_mask.shape)}"
            )
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune ``(module, name)`` pairs together: the amount is chosen over all their entries."""
    parameters = list(parameters)
    if not parameters:
        raise TypeError("global_unstructured: parameters must be a non-empty iterable")
    if getattr(pruning_method, "PRUNING_TYPE", None) != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {getattr(pruning_method, 'PRUNING_TYPE', None)}"
        )
    importance_scores = importance_scores or {}
    scores = cat(
        [importance_scores.get((m, n), getattr(m, n)).detach().reshape(-1) for m, n in parameters]
    )
    masks = cat(
        [
            getattr(m, n + "_mask", ones_like(getattr(m, n))).detach().reshape(-1)
            for m, n in parameters
        ]
    )
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    container.add_pruning_method(method)
    with no_grad():
        final = container.compute_mask(scores, masks)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        size = param.numel()
        custom_from_mask(module, name, final[start : start + size].view_as(param))
        start += size


def remove(module, name):
    """Make ``module.name`` a plain parameter holding its pruned values again."""
    found = _pruning_hook(module, name)
    if found is None:
        raise ValueError(
            f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed"
        )
    key, method = found
    method.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module):
    """Whether any submodule of ``module`` has a pruned parameter."""
    return any(
        isinstance(hook, BasePruningMethod)
        for sub in module.modules()
        for hook in sub._forward_pre_hooks.values()
    )
