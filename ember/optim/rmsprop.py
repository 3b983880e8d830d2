"""RMSprop, optionally centered and with momentum."""

from ember.optim import _foreach
from ember.optim.optimizer import (
    Optimizer,
    advance_steps,
    buffers,
    decay_grads,
    grads_of,
    hyper,
    init_state,
    roots,
)


class RMSprop(Optimizer):
    def __init__(
        self,
        params,
        lr=1e-2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0,
        momentum=0,
        centered=False,
        capturable=False,
        foreach=None,
        maximize=False,
        differentiable=False,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
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
                    names = ["square_avg"]
                    names += ["momentum_buffer"] if group["momentum"] > 0 else []
                    names += ["grad_avg"] if group["centered"] else []
                    init_state(state, p, *names)
            self._apply(group, params, grads, states)
        return loss

    def _update(self, group, params, grads, states):
        lr, alpha = hyper(group["lr"]), group["alpha"]
        advance_steps(states)
        grads = decay_grads(params, grads, lr, group["weight_decay"], False)
        square_avgs = buffers(states, "square_avg")
        _foreach.mul_(square_avgs, alpha)
        _foreach.addcmul_(square_avgs, grads, grads, 1 - alpha)
        if group["centered"]:
            grad_avgs = buffers(states, "grad_avg")
            _foreach.lerp_(grad_avgs, grads, 1 - alpha)
            variances = _foreach.addcmul(square_avgs, grad_avgs, grad_avgs, -1)
        else:
            variances = square_avgs
        avg = roots(group, variances, group["eps"])
        if group["momentum"] > 0:
            bufs = buffers(states, "momentum_buffer")
            _foreach.mul_(bufs, group["momentum"])
            _foreach.addcdiv_(bufs, grads, avg)
            _foreach.add_(params, bufs, alpha=-lr)
        else:
            _foreach.addcdiv_(params, grads, avg, -lr)
