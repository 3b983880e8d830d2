"""Full backward hooks: identity ops around a module's inputs and outputs see their grads."""

from ember._tensor import Tensor
from ember.autograd.function import Function


class _Identity(Function):
    """Passes tensors through; in backward, hands their gradients to ``on_grads``."""

    @staticmethod
    def forward(ctx, on_grads, *tensors):
        ctx.on_grads = on_grads
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        new = ctx.on_grads(grads)
        return (None, *(new if new is not None else grads))


class BackwardHook:
    def __init__(self, module):
        self.module = module
        self.grad_output = None

    def _tensors(self, values):
        return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]

    def setup_inputs(self, args):
        idx = self._tensors(args)
        if not idx:
            return args
        self.n_inputs = len(args)

        def on_input_grads(grads):
            grad_input = [None] * len(args)
            for i, g in zip(idx, grads):
                grad_input[i] = g
            grad_input = tuple(grad_input)
            for hook in list(self.module._backward_hooks.values()):
                result = hook(self.module, grad_input, self.grad_output)
                if result is not None:
                    grad_input = tuple(result)
            return tuple(grad_input[i] for i in idx)

        passed = _Identity.apply(on_input_grads, *[args[i] for i in idx])
        args = list(args)
        for i, t in zip(idx, passed):
            args[i] = t
        return tuple(args)

    def setup_outputs(self, out):
        single = isinstance(out, Tensor)
        values = (out,) if single else tuple(out) if isinstance(out, tuple | list) else None
        if values is None:
            return out
        idx = self._tensors(values)
        if not idx:
            return out

        def on_output_grads(grads):
            grad_output = [None] * len(values)
            for i, g in zip(idx, grads):
                grad_output[i] = g
            grad_output = tuple(grad_output)
            for hook in list(self.module._backward_pre_hooks.values()):
                result = hook(self.module, grad_output)
                if result is not None:
                    grad_output = tuple(result)
            self.grad_output = grad_output
            if not hasattr(self, "n_inputs"):
                # No input needs grad: the hooks run now, with grad_input of Nones.
                for hook in list(self.module._backward_hooks.values()):
                    hook(self.module, (None,), grad_output)
            return tuple(grad_output[i] for i in idx)

        passed = _Identity.apply(on_output_grads, *[values[i] for i in idx])
        values = list(values)
        for i, t in zip(idx, passed):
            values[i] = t
        return values[0] if single else type(out)(values)
