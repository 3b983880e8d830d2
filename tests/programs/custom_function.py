"""A custom autograd.Function (straight-through rounding) and a gradient check."""

import numpy as np
import torch


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return torch.round(x * scale) / scale

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x.abs() < 2).to(grad_output.dtype), None


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


rng = np.random.default_rng(1)
x = torch.tensor(rng.standard_normal(8) * 2, requires_grad=True)
y = RoundSTE.apply(x, 4.0)
(y * torch.arange(8.0, dtype=torch.float64)).sum().backward()
print("RESULT forward_sum", f"{y.sum().item():.6f}")
for i, g in enumerate(x.grad.tolist()):
    print(f"RESULT grad{i} {g:.6f}")
xd = torch.tensor(rng.standard_normal(4), dtype=torch.float64, requires_grad=True)
print("RESULT gradcheck", int(torch.autograd.gradcheck(Cube.apply, (xd,))))
