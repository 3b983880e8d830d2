"""weight_norm: a weight re-expressed as magnitude ``g`` times direction ``v / |v|``.

The module keeps ``<name>_g`` and ``<name>_v`` as parameters and recomputes ``<name>`` before
every forward (a forward pre-hook), as ``torch.nn.utils.weight_norm`` does.
"""

from ember.autograd.grad_mode import no_grad
from ember.nn.parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm"]


def norm_except_dim(v, dim):
    """2-norm of ``v`` over every dim but ``dim``, kept broadcastable; dim -1: the whole."""
    if dim == -1:
        return v.pow(2).sum().sqrt()
    dims = tuple(i for i in range(v.dim()) if i != dim)
    return v.pow(2).sum(dims, keepdim=True).sqrt() if dims else v.abs()


class WeightNorm:
    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module, name, dim):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        weight = getattr(module, name, None)
        if not isinstance(weight, Parameter):
            raise ValueError(f"weight_norm: module has no parameter named '{name}'")
        fn = WeightNorm(name, dim)
        if fn.dim < -1:
            fn.dim += weight.dim()
        del module._parameters[name]
        with no_grad():
            g = norm_except_dim(weight, fn.dim)
        module.register_parameter(name + "_g", Parameter(g.detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Split ``module.<name>`` into ``<name>_g`` (norms over all dims but ``dim``) and
    ``<name>_v`` (direction); ``dim=None`` takes one norm over the whole tensor."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Fold ``<name>_g`` and ``<name>_v`` back into one parameter ``<name>``."""
    return remove_hook(module, WeightNorm, name, "weight_norm")


def remove_hook(module, hook_type, name, what):
    """Undo the reparametrisation hook of ``hook_type`` on ``module.<name>``."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, hook_type) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")
