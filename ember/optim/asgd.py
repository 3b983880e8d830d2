"""ASGD: SGD with a decaying step size and a running average of the iterates (``ax``)."""

import ember
from ember.optim import _foreach
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    decay_grads,
    grads_of,
    hyper,
    init_state,
)


class ASGD(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        lambd=1e-4,
        alpha=0.75,
        t0=1e6,
        weight_decay=0,
        foreach=None,
        maximize=False,
        differentiable=False,
        capturable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
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
                if not state:
                    # eta and mu are float32 scalars, as PyTorch keeps them
                    init_state(state, p, "ax")
                    state["eta"] = ember.tensor(hyper(group["lr"]), dtype=ember.float32)
                    state["mu"] = ember.ones((), dtype=ember.float32)
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr, lambd, alpha = hyper(group["lr"]), group["lambd"], group["alpha"]
        steps = advance_steps(states)
        grads = decay_grads(params, grads, lr, group["weight_decay"], False)
        etas = [s["eta"].item() for s in states]
        _foreach.mul_(params, [1 - lambd * eta for eta in etas])
        _foreach.add_(params, [g.mul(-eta) for g, eta in zip(grads, etas)])
        for p, state in zip(params, states):
            ax, mu = state["ax"], state["mu"].item()
            if mu != 1:
                ax.add_(p.sub(ax).mul_(mu))
            else:
                ax.copy_(p)
        for state, step in zip(states, steps):
            state["eta"].fill_(lr / (1 + lambd * lr * step) ** alpha)
            state["mu"].fill_(1 / max(1, step - group["t0"]))
