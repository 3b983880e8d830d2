"""Adam, with AMSGrad and optional decoupled weight decay."""

import math

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
    per_step,
    roots,
)


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
        check_flags(foreach, fused, differentiable)
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
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "exp_avg" not in state:
                    names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                    init_state(state, p, *names[: 3 if group["amsgrad"] else 2])
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr = hyper(group["lr"])
        beta1, beta2 = (hyper(b) for b in group["betas"])
        decoupled = group.get("decoupled_weight_decay", self.decoupled)
        steps, eps = advance_steps(states), group["eps"]
        grads = decay_grads(params, grads, lr, group["weight_decay"], decoupled)
        exp_avgs, exp_avg_sqs = buffers(states, "exp_avg"), buffers(states, "exp_avg_sq")
        _foreach.lerp_(exp_avgs, grads, 1 - beta1)
        _foreach.mul_(exp_avg_sqs, beta2)
        _foreach.addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        if group["amsgrad"]:
            _foreach.maximum_(buffers(states, "max_exp_avg_sq"), exp_avg_sqs)
            exp_avg_sqs = buffers(states, "max_exp_avg_sq")
        # sqrt(v) / sqrt(bc2) + eps, scaled by sqrt(bc2): one op less per tensor
        denom = roots(group, exp_avg_sqs, per_step(steps, lambda s: eps * _bc2_sqrt(beta2, s)))
        step_sizes = per_step(steps, lambda s: -lr * _bc2_sqrt(beta2, s) / (1 - beta1**s))
        _foreach.addcdiv_(params, exp_avgs, denom, step_sizes)


def _bc2_sqrt(beta2, step):
    return math.sqrt(1 - beta2**step)
