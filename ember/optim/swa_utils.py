"""Stochastic weight averaging: AveragedModel, update_bn, SWALR and the averaging rules."""

import copy
import itertools
import math

import ember
from ember.nn import Module
from ember.optim import _foreach
from ember.optim.lr_scheduler import LRScheduler, _per_group

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay=0.999):
    """In-place exponential moving average over lists of tensors (integer tensors, such as
    batch-norm step counts, take the rounded-down average)."""
    _check_decay(decay)

    def ema_update(ema_params, current_params, num_averaged):
        with ember.no_grad():
            if ema_params and ema_params[0].is_floating_point():
                _foreach.lerp_(ema_params, current_params, 1 - decay)
            else:
                for e, c in zip(ema_params, current_params):
                    e.copy_(e * decay + c * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean over lists of tensors."""

    def swa_update(averaged_params, current_params, num_averaged):
        with ember.no_grad():
            steps = _foreach.sub(current_params, averaged_params)
            means = _foreach.add(averaged_params, _foreach.div(steps, float(num_averaged) + 1))
            _foreach.copy_(averaged_params, means)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """Exponential moving average of one tensor: returns the new average."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """Running mean of one tensor: returns the new average."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters hold an average of the model's over time.

    ``avg_fn(averaged, current, n)`` returns the new average of one tensor;
    ``multi_avg_fn(averaged_list, current_list, n)`` updates lists in place; with neither,
    the average is the running mean (SWA). With ``use_buffers`` the buffers are averaged
    too; otherwise they are copied from the model.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", ember.tensor(0, dtype=ember.long))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model):
        mine = [t.detach() for t in self._tensors(self.module)]
        theirs = [t.detach() for t in self._tensors(model)]
        n = int(self.n_averaged.item())
        with ember.no_grad():
            if n == 0:
                _foreach.copy_(mine, theirs)
            elif self.avg_fn is not None:
                for a, c in zip(mine, theirs):
                    a.copy_(ember.as_tensor(self.avg_fn(a, c, self.n_averaged)))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(mine, theirs, self.n_averaged)
            if not self.use_buffers:
                _foreach.copy_(list(self.module.buffers()), list(model.buffers()))
            self.n_averaged.add_(1)


def _is_batch_norm(module):
    return hasattr(module, "running_mean") and hasattr(module, "reset_running_stats")


def update_bn(loader, model, device=None):
    """Recompute batch-norm running statistics with one pass over ``loader``.

    Each batch-norm layer's statistics are reset and then averaged over all batches
    (momentum None), as needed after averaging weights.
    """
    momenta = {}
    for module in model.modules():
        if _is_batch_norm(module):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with ember.no_grad():
        for batch in loader:
            if isinstance(batch, list | tuple):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate to ``swa_lr`` over ``anneal_epochs``, then holds it."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for lr, group in zip(_per_group(swa_lr, optimizer, "swa_lr"), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _start_lr(lr, swa_lr, alpha):
        """The learning rate before annealing, recovered from the current one."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        groups = self.optimizer.param_groups
        return [
            g["swa_lr"] * alpha + self._start_lr(g["lr"], g["swa_lr"], prev_alpha) * (1 - alpha)
            for g in groups
        ]
