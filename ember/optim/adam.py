"""Adam, with AMSGrad and optional decoupled weight decay."""

import math

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


def _check(lr, eps, betas, weight_decay):
    if hyper(lr) < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    decoupled = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        foreach=None,
        maximize=False,
        capturable=False,
        differentiable=False,
        fused=None,
        decoupled_weight_decay=False,
    ):
        _check(lr, eps, betas, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay or self.decoupled,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr = hyper(group["lr"])
            beta1, beta2 = (hyper(b) for b in group["betas"])
            eps, wd = group["eps"], group["weight_decay"]
            decoupled = group.get("decoupled_weight_decay", self.decoupled)
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "exp_avg" not in state:
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["exp_avg"] = wrap(np.zeros_like(p._data))
                    state["exp_avg_sq"] = wrap(np.zeros_like(p._data))
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = wrap(np.zeros_like(p._data))
                step = step_tensor(state)
                x = p._data
                if wd:
                    if decoupled:
                        x *= 1 - lr * wd
                    else:
                        g = g + wd * x
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                # one scratch array serves every intermediate
                tmp = np.subtract(g, m, dtype=m.dtype)
                tmp *= 1 - beta1
                m += tmp
                np.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v *= beta2
                v += tmp
                if group["amsgrad"]:
                    vmax = state["max_exp_avg_sq"]._data
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                np.sqrt(v, out=tmp)
                tmp /= math.sqrt(1 - beta2**step)
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= lr / (1 - beta1**step)
                x -= tmp
                p._bump_version()
        return loss
