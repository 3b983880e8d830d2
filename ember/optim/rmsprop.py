"""RMSprop, optionally centered and with momentum."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


class RMSprop(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = hyper(group["lr"]), group["alpha"], group["eps"]
            wd, momentum = group["weight_decay"], group["momentum"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "square_avg" not in state:
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["square_avg"] = wrap(np.zeros_like(p._data))
                    if momentum > 0:
                        state["momentum_buffer"] = wrap(np.zeros_like(p._data))
                    if group["centered"]:
                        state["grad_avg"] = wrap(np.zeros_like(p._data))
                step_tensor(state)
                x = p._data
                if wd:
                    g = g + wd * x
                sq = state["square_avg"]._data
                sq *= alpha
                sq += (1 - alpha) * g * g
                if group["centered"]:
                    ga = state["grad_avg"]._data
                    ga += (g - ga) * (1 - alpha)
                    avg = np.sqrt(sq - ga * ga) + eps
                else:
                    avg = np.sqrt(sq) + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += g / avg
                    x -= (lr * buf).astype(x.dtype, copy=False)
                else:
                    x -= (lr * g / avg).astype(x.dtype, copy=False)
                p._bump_version()
        return loss
