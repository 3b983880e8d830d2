"""Adagrad: per-element step sizes from the accumulated squared gradients."""

from ember.optim import _foreach
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    buffers,
    check_flags,
    decay_grads,
    grads_of,
    hyper,
    init_state,
)


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
        check_flags(foreach, fused, differentiable)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                init_state(self.state[p], p, "sum", fill=group["initial_accumulator_value"])

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr, lr_decay = hyper(group["lr"]), group["lr_decay"]
        steps = advance_steps(states)
        grads = decay_grads(params, grads, lr, group["weight_decay"], False)
        sums = buffers(states, "sum")
        _foreach.addcmul_(sums, grads, grads)
        std = _foreach.sqrt(sums)
        _foreach.add_(std, group["eps"])
        _foreach.addcdiv_(params, grads, std, [-lr / (1 + (s - 1) * lr_decay) for s in steps])
