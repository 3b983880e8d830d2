"""spectral_norm: a weight divided by its largest singular value, estimated by power iteration.

As ``torch.nn.utils.spectral_norm``: the module keeps ``<name>_orig`` as the parameter and the
power-iteration vectors ``<name>_u`` and ``<name>_v`` as buffers. Before every forward in
training mode the vectors take ``n_power_iterations`` steps (without gradient); in eval mode
they are used as they are.
"""

from ember._ops.nn_misc import normalize
from ember.autograd.grad_mode import no_grad
from ember.nn.parameter import Parameter
from ember.nn.utils.weight_norm import remove_hook

__all__ = ["spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        """The weight as a matrix whose rows run along ``dim``."""
        if self.dim != 0:
            order = [self.dim] + [d for d in range(weight.dim()) if d != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                w = weight_mat.detach()
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(w.t().mv(u), dim=0, eps=self.eps))
                    u.copy_(normalize(w.mv(v), dim=0, eps=self.eps))
            u, v = u.clone(), v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: module has no parameter named '{name}'")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        import ember

        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            dtype = weight.dtype
            u = normalize(ember.randn(h, dtype=dtype), dim=0, eps=fn.eps)
            v = normalize(ember.randn(w, dtype=dtype), dim=0, eps=fn.eps)
        del module._parameters[name]
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm before every forward."""
    if dim is None:
        from ember.nn.modules.conv import _ConvTransposeNd

        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Make ``module.<name>`` a plain parameter again (the normalised weight)."""
    return remove_hook(module, SpectralNorm, name, "spectral_norm")
