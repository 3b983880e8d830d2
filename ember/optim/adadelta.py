"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


class Adadelta(Optimizer):
    def __init__(
        self,
        params,
        lr=1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = hyper(group["lr"]), group["rho"], group["eps"]
            wd = group["weight_decay"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "square_avg" not in state:
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["square_avg"] = wrap(np.zeros_like(p._data))
                    state["acc_delta"] = wrap(np.zeros_like(p._data))
                step_tensor(state)
                if wd:
                    g = g + wd * p._data
                sq, acc = state["square_avg"]._data, state["acc_delta"]._data
                sq *= rho
                sq += (1 - rho) * g * g
                delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
                acc *= rho
                acc += (1 - rho) * delta * delta
                p._data -= (lr * delta).astype(p._data.dtype, copy=False)
                p._bump_version()
        return loss
