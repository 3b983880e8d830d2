"""Adagrad: per-element step sizes from the accumulated squared gradients."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


class Adagrad(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        lr_decay=0,
        weight_decay=0,
        initial_accumulator_value=0,
        eps=1e-10,
        foreach=None,
        *,
        maximize=False,
        differentiable=False,
        fused=None,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = wrap(np.zeros((), np.float32))
                state["sum"] = wrap(np.full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, eps, wd = hyper(group["lr"]), group["eps"], group["weight_decay"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                step = step_tensor(state)
                if wd:
                    g = g + wd * p._data
                clr = lr / (1 + (step - 1) * group["lr_decay"])
                s = state["sum"]._data
                s += g * g
                p._data -= (clr * g / (np.sqrt(s) + eps)).astype(p._data.dtype, copy=False)
                p._bump_version()
        return loss
