"""Adamax: Adam with the infinity norm of past gradients."""

import numpy as np

from ember._tensor import wrap
from ember.optim.adam import _check
from ember.optim.optimizer import Optimizer, decay_grad, grads_of, hyper, step_tensor


class Adamax(Optimizer):
    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        _check(lr, eps, betas, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps = hyper(group["lr"]), group["eps"]
            beta1, beta2 = (hyper(b) for b in group["betas"])
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "exp_avg" not in state:
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["exp_avg"] = wrap(np.zeros_like(p._data))
                    state["exp_inf"] = wrap(np.zeros_like(p._data))
                step = step_tensor(state)
                g = decay_grad(p, g, lr, group["weight_decay"], False)
                m, u = state["exp_avg"]._data, state["exp_inf"]._data
                m += (g - m) * (1 - beta1)
                np.maximum(u * beta2, np.abs(g) + eps, out=u)
                clr = lr / (1 - beta1**step)
                p._data -= (clr * m / u).astype(p._data.dtype, copy=False)
                p._bump_version()
        return loss
