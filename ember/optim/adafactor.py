"""Adafactor (Shazeer and Stern, 2018) as PyTorch 2.13 runs it: the second moment of a matrix
gradient kept as row and column factors, a relative step size, and update clipping."""

import ember
from ember.autograd.grad_mode import no_grad
from ember.optim.optimizer import Optimizer, hyper


class Adafactor(Optimizer):
    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):  # fmt: skip
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= hyper(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)  # fmt: skip
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        if state:
            return state
        state["step"] = ember.zeros((), dtype=ember.float32)
        if p.grad.dim() > 1:
            state["row_var"] = p.grad.new_zeros(p.grad.shape[:-1] + (1,))
            state["col_var"] = p.grad.new_zeros(p.grad.shape[:-2] + (1, p.grad.shape[-1]))
        else:
            state["variance"] = ember.zeros_like(p.grad)
        return state

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group):
        lr, d = hyper(group["lr"]), group["d"]
        # A tensor lr makes PyTorch compute the step sizes below in that tensor's dtype.
        lr_dtype = group["lr"].dtype if isinstance(group["lr"], ember.Tensor) else None

        def rounded(value, in_lr_dtype=True):
            if lr_dtype is None or not in_lr_dtype:
                return value
            return ember.tensor(value, dtype=lr_dtype).item()

        eps1, eps2 = group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            state = self._init_state(p)
            grad = -p.grad if group["maximize"] else p.grad
            if eps1 is None:  # as PyTorch: the first parameter's dtype decides for the group
                eps1 = ember.finfo(p.dtype).eps
            state["step"] += 1
            step = state["step"].item()
            one_minus_beta2 = step ** group["beta2_decay"]
            rho_is_lr = lr <= 1 / step**0.5
            rho = lr if rho_is_lr else 1 / step**0.5
            scale = max(eps2, p.norm(2).item() / p.numel() ** 0.5)
            alpha = rounded(rounded(scale, rho_is_lr) * rho, rho_is_lr)
            if group["weight_decay"] != 0:
                p.mul_(rounded(1 - rounded(lr * rounded(group["weight_decay"]))))
            if grad.dim() > 1:
                row_var, col_var = state["row_var"], state["col_var"]
                row_var.lerp_((grad * grad).mean(-1, keepdim=True), one_minus_beta2)
                col_var.lerp_((grad * grad).mean(-2, keepdim=True), one_minus_beta2)
                var_estimate = (row_var @ col_var) / row_var.mean(-2, keepdim=True).clamp(
                    min=eps1)  # fmt: skip
            else:
                variance = state["variance"]
                variance.lerp_(grad * grad, one_minus_beta2)
                var_estimate = variance.clone()
            update = var_estimate.clamp(min=eps1 * eps1).rsqrt() * grad
            denom = max(1.0, update.norm(2).item() / (update.numel() ** 0.5 * d))
            p.add_(update, alpha=rounded(-alpha / rounded(denom, rho_is_lr), rho_is_lr))
