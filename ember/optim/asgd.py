"""ASGD: SGD with a decaying step size and a running average of the iterates (``ax``)."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


class ASGD(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        lambd=1e-4,
        alpha=0.75,
        t0=1e6,
        weight_decay=0,
        foreach=None,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
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
            lr, lambd, wd = hyper(group["lr"]), group["lambd"], group["weight_decay"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if not state:
                    # eta and mu are float32 scalars, as PyTorch keeps them
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["eta"] = wrap(np.array(lr, np.float32))
                    state["mu"] = wrap(np.ones((), np.float32))
                    state["ax"] = wrap(np.zeros_like(p._data))
                step = step_tensor(state)
                x = p._data
                if wd:
                    g = g + wd * x
                eta = float(state["eta"]._data)
                x *= 1 - lambd * eta
                x -= np.multiply(g, eta, dtype=x.dtype)
                p._bump_version()
                ax, mu = state["ax"]._data, float(state["mu"]._data)
                if mu != 1:
                    ax += (x - ax) * mu
                else:
                    ax[...] = x
                state["eta"]._data[...] = lr / (1 + lambd * lr * step) ** group["alpha"]
                state["mu"]._data[...] = 1 / max(1, step - group["t0"])
        return loss
