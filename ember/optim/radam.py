"""RAdam: Adam with a rectified adaptive learning rate for the early steps."""

import math

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


class RAdam(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
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
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "exp_avg" not in state:
                    init_state(state, p, "exp_avg", "exp_avg_sq")
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr = hyper(group["lr"])
        beta1, beta2 = (hyper(b) for b in group["betas"])
        steps = advance_steps(states)
        grads = decay_grads(
            params, grads, lr, group["weight_decay"], group["decoupled_weight_decay"]
        )
        exp_avgs, exp_avg_sqs = buffers(states, "exp_avg"), buffers(states, "exp_avg_sq")
        _foreach.lerp_(exp_avgs, grads, 1 - beta1)
        _foreach.mul_(exp_avg_sqs, beta2)
        _foreach.addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        corrected = _foreach.div(exp_avgs, [1 - beta1**s for s in steps])
        rect = [_rectification(beta2, s) for s in steps]
        # early steps (no rectification yet) move along the bias-corrected average alone
        plain = [i for i, r in enumerate(rect) if r is None]
        _foreach.add_([params[i] for i in plain], [corrected[i] for i in plain], alpha=-lr)
        adaptive = [i for i, r in enumerate(rect) if r is not None]
        denom = _foreach.sqrt([exp_avg_sqs[i] for i in adaptive])
        _foreach.add_(denom, group["eps"])
        sizes = [-lr * rect[i] * math.sqrt(1 - beta2 ** steps[i]) for i in adaptive]
        _foreach.addcdiv_(
            [params[i] for i in adaptive], [corrected[i] for i in adaptive], denom, sizes
        )


def _rectification(beta2, step):
    """The variance rectification factor at a step, or None while the variance of the
    adaptive rate is not yet tractable (rho_t <= 5)."""
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / (1 - beta2**step)
    if rho_t <= 5.0:
        return None
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
