"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from ember.optim import _foreach
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    buffers,
    decay_grads,
    grads_of,
    hyper,
    init_state,
)


class Adadelta(Optimizer):
    def __init__(
        self,
        params,
        lr=1.0,
        rho=0.9,
        eps=1e-6,
        weight_decay=0,
        foreach=None,
        *,
        capturable=False,
        maximize=False,
        differentiable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "square_avg" not in state:
                    init_state(state, p, "square_avg", "acc_delta")
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        rho, eps = group["rho"], group["eps"]
        advance_steps(states)
        grads = decay_grads(params, grads, None, group["weight_decay"], False)
        square_avgs, acc_deltas = buffers(states, "square_avg"), buffers(states, "acc_delta")
        _foreach.mul_(square_avgs, rho)
        _foreach.addcmul_(square_avgs, grads, grads, 1 - rho)
        std = _foreach.add(square_avgs, eps)
        _foreach.sqrt_(std)
        deltas = _foreach.add(acc_deltas, eps)
        _foreach.sqrt_(deltas)
        _foreach.div_(deltas, std)
        _foreach.mul_(deltas, grads)
        _foreach.mul_(acc_deltas, rho)
        _foreach.addcmul_(acc_deltas, deltas, deltas, 1 - rho)
        _foreach.add_(params, deltas, alpha=-hyper(group["lr"]))
