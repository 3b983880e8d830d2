"""Normalisation written with differentiable ember ops.

The fused normalisation ops compute their first backward pass on arrays; a backward pass
that is itself recorded (``create_graph=True``) differentiates these compositions instead
(`recorded_backward`), so every normalisation has correct second derivatives, including the
dependence of the statistics on the input.
"""


def standardized(x, axes, eps):
    """(x - mean) / sqrt(biased var + eps) over ``axes``."""
    centered = x - x.mean(axes, keepdim=True)
    return centered * ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()


def normalized_affine(axes, eps, param_shape):
    """reference(x, weight, bias) for a normalisation followed by its optional affine."""

    def run(x, weight, bias):
        out = standardized(x, axes, eps)
        if weight is not None:
            out = out * weight.reshape(param_shape)
        if bias is not None:
            out = out + bias.reshape(param_shape)
        return (out,)

    return run
