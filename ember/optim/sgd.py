"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from ember.optim import _foreach
from ember.optim.optimizer import (
    Optimizer,
    check_flags,
    decay_grads,
    grads_of,
    hyper,
    required,
)


class SGD(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
        foreach=None,
        differentiable=False,
        fused=None,
    ):
        if lr is not required and hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_flags(foreach, fused, differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params, grads = grads_of(group, group["maximize"])
            states = [self.state[p] for p in params] if group["momentum"] else [{}] * len(params)
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        momentum, dampening = group["momentum"], group["dampening"]
        grads = decay_grads(params, grads, None, group["weight_decay"], False)
        if momentum:
            bufs = [s.get("momentum_buffer") for s in states]
            kept = [i for i, b in enumerate(bufs) if b is not None]
            if len(kept) == len(bufs):
                _decay(bufs, grads, momentum, dampening)
            else:  # a parameter's first step starts its buffer from the gradient
                _decay([bufs[i] for i in kept], [grads[i] for i in kept], momentum, dampening)
                for i, (s, g) in enumerate(zip(states, grads)):
                    if bufs[i] is None:
                        bufs[i] = s["momentum_buffer"] = g.clone().detach()
            grads = _foreach.add(grads, bufs, alpha=momentum) if group["nesterov"] else bufs
        _foreach.add_(params, grads, alpha=-hyper(group["lr"]))


def _decay(bufs, grads, momentum, dampening):
    """bufs[i] = momentum * bufs[i] + (1 - dampening) * grads[i]."""
    _foreach.scale_add_(bufs, momentum, grads, 1 - dampening)
