"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, required


class SGD(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        if lr is not required and hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, momentum = hyper(group["lr"]), group["momentum"]
            dampening, wd = group["dampening"], group["weight_decay"]
            for p, g in grads_of(group, group["maximize"]):
                d_p = g + wd * p._data if wd else g
                if momentum:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = wrap(np.array(d_p, copy=True))
                    else:
                        b = buf._data
                        b *= momentum
                        if dampening:
                            b += (1 - dampening) * d_p
                        else:
                            b += d_p
                    d_p = d_p + momentum * buf._data if group["nesterov"] else buf._data
                step = np.multiply(d_p, lr, dtype=p._data.dtype)
                p._data -= step
                p._bump_version()
        return loss
