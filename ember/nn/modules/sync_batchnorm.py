"""SyncBatchNorm: batch normalisation with statistics over the whole process group.

In training, each rank sums its input and squared input per channel; one all-reduce of those
sums and the element counts gives the group's mean and variance, so every rank normalises
with the statistics of the global batch. Backward all-reduces the per-channel sums of the
gradient and of the gradient times the normalised input. The weight and bias gradients stay
local, as in PyTorch: DistributedDataParallel averages them. In eval mode, or in a group of
one process, it is BatchNorm.
"""

import importlib

from ember.autograd import Function
from ember.nn.modules.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _dist():
    return importlib.import_module("ember.distributed")


class _SyncBatchNormFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, eps, group, stats_out):
        from ember import cat, full

        c = input.shape[1]
        dims = [d for d in range(input.dim()) if d != 1]
        count = input.numel() // c
        sums = cat([input.sum(dims), (input * input).sum(dims), full((1,), float(count))])
        sums = sums.to(input.dtype) if sums.dtype != input.dtype else sums
        _dist().all_reduce(sums, group=group)
        total = sums[2 * c].item()
        if total <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{list(input.shape)} across the process group"
            )
        mean = sums[:c] / total
        var = (sums[c : 2 * c] / total - mean * mean).clamp(min=0)
        invstd = (var + eps).rsqrt()
        shape = [1, c] + [1] * (input.dim() - 2)
        xhat = (input - mean.view(shape)) * invstd.view(shape)
        out = xhat
        if weight is not None:
            out = out * weight.view(shape)
        if bias is not None:
            out = out + bias.view(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.group, ctx.total, ctx.shape, ctx.dims = group, total, shape, dims
        stats_out.extend([mean, var, total])
        return out

    @staticmethod
    def backward(ctx, grad):
        from ember import cat

        xhat, invstd, weight = ctx.saved_tensors
        shape, dims = ctx.shape, ctx.dims
        c = xhat.shape[1]
        sum_dy = grad.sum(dims)
        sum_dy_xhat = (grad * xhat).sum(dims)
        grad_weight = sum_dy_xhat if ctx.needs_input_grad[1] else None
        grad_bias = sum_dy if ctx.needs_input_grad[2] else None
        grad_input = None
        if ctx.needs_input_grad[0]:
            both = cat([sum_dy, sum_dy_xhat])
            _dist().all_reduce(both, group=ctx.group)
            mean_dy = (both[:c] / ctx.total).view(shape)
            mean_dy_xhat = (both[c:] / ctx.total).view(shape)
            scale = invstd.view(shape)
            if weight is not None:
                scale = scale * weight.view(shape)
            grad_input = (grad - mean_dy - xhat * mean_dy_xhat) * scale
        return grad_input, grad_weight, grad_bias, None, None, None


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over N-D input whose batch statistics span every rank of ``process_group``."""

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        process_group=None,
        device=None,
        dtype=None,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"SyncBatchNorm: expected input with {self.num_features} channels (dim 1), "
                f"got shape {list(input.shape)}"
            )
        dist = _dist()
        group = self.process_group
        world = dist.get_world_size(group) if dist.is_initialized() else 1
        if not self.training or world <= 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        stats = []
        out = _SyncBatchNormFunction.apply(input, self.weight, self.bias, self.eps, group, stats)
        if self.track_running_stats:
            from ember.autograd.grad_mode import no_grad

            mean, var, total = stats
            with no_grad():
                unbiased = var * (total / (total - 1))
                self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype) * factor)
                self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype) * factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm*D replaced by a SyncBatchNorm with its state."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = SyncBatchNorm(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            if module.affine:
                converted.weight = module.weight
                converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
