"""Rprop: per-element step sizes adapted by the sign of successive gradients."""

import ember
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    buffers,
    grads_of,
    hyper,
    init_state,
)


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
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "prev" not in state:
                    init_state(state, p, "prev")
                    state["step_size"] = ember.full_like(p, hyper(group["lr"]))
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        etaminus, etaplus = group["etas"]
        advance_steps(states)
        prevs, step_sizes = buffers(states, "prev"), buffers(states, "step_size")
        for grad, prev, step_size, param in zip(grads, prevs, step_sizes, params):
            # the factor for each element: grow where the gradient kept its sign, shrink
            # where it flipped (and skip that element's step), keep where either was zero
            factor = grad.mul(prev).sign()
            factor.masked_fill_(factor.gt(0), etaplus)
            factor.masked_fill_(factor.lt(0), etaminus)
            factor.masked_fill_(factor.eq(0), 1)
            step_size.mul_(factor).clamp_(*group["step_sizes"])
            grad = grad.masked_fill(factor.eq(etaminus), 0)
            param.addcmul_(grad.sign(), step_size, value=-1)
            prev.copy_(grad)
