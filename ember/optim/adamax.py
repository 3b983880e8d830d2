"""Adamax: Adam with the infinity norm of past gradients."""

from ember.optim import _foreach
from ember.optim.adam import _check
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    buffers,
    decay_grads,
    grads_of,
    hyper,
    init_state,
)


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
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "exp_avg" not in state:
                    init_state(state, p, "exp_avg", "exp_inf")
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr = hyper(group["lr"])
        beta1, beta2 = (hyper(b) for b in group["betas"])
        steps = advance_steps(states)
        grads = decay_grads(params, grads, lr, group["weight_decay"], False)
        exp_avgs, exp_infs = buffers(states, "exp_avg"), buffers(states, "exp_inf")
        _foreach.lerp_(exp_avgs, grads, 1 - beta1)
        _foreach.mul_(exp_infs, beta2)
        norms = _foreach.abs(grads)
        _foreach.add_(norms, group["eps"])
        _foreach.maximum_(exp_infs, norms)
        _foreach.addcdiv_(params, exp_avgs, exp_infs, [-lr / (1 - beta1**s) for s in steps])
