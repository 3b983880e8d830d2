"""RAdam: Adam with a rectified adaptive learning rate for the early steps."""

import math

import numpy as np

from ember.optim.adam import _check
from ember.optim.optimizer import Optimizer, decay_grad, grads_of, hyper, step_tensor, zeros_state


class RAdam(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        decoupled_weight_decay=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
    ):
        _check(lr, eps, betas, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = hyper(group["lr"]), group["eps"]
            beta1, beta2 = (hyper(b) for b in group["betas"])
            rho_inf = 2 / (1 - beta2) - 1
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "exp_avg" not in state:
                    zeros_state(state, p, "exp_avg", "exp_avg_sq")
                step = step_tensor(state)
                g = decay_grad(p, g, lr, group["weight_decay"], group["decoupled_weight_decay"])
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                m += (g - m) * (1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                bc1, bc2 = 1 - beta1**step, 1 - beta2**step
                corrected = m / bc1
                rho_t = rho_inf - 2 * step * (beta2**step) / bc2
                if rho_t > 5.0:
                    rect = math.sqrt(
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    adaptive = math.sqrt(bc2) / (np.sqrt(v) + eps)
                    update = corrected * lr * adaptive * rect
                else:
                    update = corrected * lr
                p._data -= update.astype(p._data.dtype, copy=False)
                p._bump_version()
        return loss
