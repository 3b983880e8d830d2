"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

import numpy as np

from ember._tensor import wrap
from ember.optim.adam import _check
from ember.optim.optimizer import Optimizer, decay_grad, grads_of, hyper, step_tensor, zeros_state


class NAdam(Optimizer):
    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
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
            momentum_decay=momentum_decay,
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
            psi = group["momentum_decay"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "exp_avg" not in state:
                    zeros_state(state, p, "exp_avg", "exp_avg_sq")
                    state["mu_product"] = wrap(np.ones((), np.float32))
                step = step_tensor(state)
                g = decay_grad(p, g, lr, group["weight_decay"], group["decoupled_weight_decay"])
                bc2 = 1 - beta2**step
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
                state["mu_product"]._data *= mu
                mu_product = float(state["mu_product"]._data)
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                m += (g - m) * (1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = np.sqrt(v / bc2) + eps
                x = p._data
                x -= (lr * (1 - mu) / (1 - mu_product) * g / denom).astype(x.dtype, copy=False)
                x -= (lr * mu_next / (1 - mu_product * mu_next) * m / denom).astype(
                    x.dtype, copy=False
                )
                p._bump_version()
        return loss
