"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

import ember
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


class NAdam(Optimizer):
    def __init__(
        self,
        params,
        lr=2e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        momentum_decay=4e-3,
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
            momentum_decay=momentum_decay,
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
                    state["mu_product"] = ember.ones((), dtype=ember.float32)
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr, psi = hyper(group["lr"]), group["momentum_decay"]
        beta1, beta2 = (hyper(b) for b in group["betas"])
        steps = advance_steps(states)
        grads = decay_grads(
            params, grads, lr, group["weight_decay"], group["decoupled_weight_decay"]
        )
        mus = [beta1 * (1.0 - 0.5 * 0.96 ** (s * psi)) for s in steps]
        mu_nexts = [beta1 * (1.0 - 0.5 * 0.96 ** ((s + 1) * psi)) for s in steps]
        mu_products = buffers(states, "mu_product")
        _foreach.mul_(mu_products, mus)
        products = [m.item() for m in mu_products]
        exp_avgs, exp_avg_sqs = buffers(states, "exp_avg"), buffers(states, "exp_avg_sq")
        _foreach.lerp_(exp_avgs, grads, 1 - beta1)
        _foreach.mul_(exp_avg_sqs, beta2)
        _foreach.addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        denom = _foreach.div(exp_avg_sqs, [1 - beta2**s for s in steps])
        _foreach.sqrt_(denom)
        _foreach.add_(denom, group["eps"])
        grad_sizes = [-lr * (1 - mu) / (1 - prod) for mu, prod in zip(mus, products)]
        _foreach.addcdiv_(params, grads, denom, grad_sizes)
        avg_sizes = [-lr * nxt / (1 - prod * nxt) for nxt, prod in zip(mu_nexts, products)]
        _foreach.addcdiv_(params, exp_avgs, denom, avg_sizes)
