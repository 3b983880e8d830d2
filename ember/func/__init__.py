"""ember.func: composable function transforms (torch.func).

``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian`` are built on ember's autograd
(forward mode through reverse mode); ``vmap`` loops over the mapped dimension. See the module
docs of ``_autodiff`` and ``_vmap`` for what that costs.
"""

from ember.func._autodiff import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from ember.func._module import functional_call, stack_module_state
from ember.func._vmap import vmap

__all__ = [
    "functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
    "stack_module_state", "vjp", "vmap",
]  # fmt: skip
