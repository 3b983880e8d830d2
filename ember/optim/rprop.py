"""Rprop: per-element step sizes adapted by the sign of successive gradients."""

import numpy as np

from ember._tensor import wrap
from ember.optim.optimizer import Optimizer, grads_of, hyper, step_tensor


class Rprop(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            lo, hi = group["step_sizes"]
            for p, g in grads_of(group, group["maximize"]):
                state = self.state[p]
                if "prev" not in state:
                    state["step"] = wrap(np.zeros((), np.float32))
                    state["prev"] = wrap(np.zeros_like(p._data))
                    state["step_size"] = wrap(np.full_like(p._data, hyper(group["lr"])))
                step_tensor(state)
                prev, size = state["prev"]._data, state["step_size"]._data
                s = np.sign(g * prev)
                factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0))
                size *= factor.astype(size.dtype, copy=False)
                np.clip(size, lo, hi, out=size)
                g = np.where(s < 0, 0, g).astype(g.dtype, copy=False)
                p._data -= (np.sign(g) * size).astype(p._data.dtype, copy=False)
                prev[...] = g
                p._bump_version()
        return loss
