"""One flat vector from many parameters, and back."""

from ember._ops.shape import cat


def parameters_to_vector(parameters):
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    if vec.dim() != 1:
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__} of dim {vec.dim()}")
    offset = 0
    for p in parameters:
        n = p.numel()
        p.data = vec[offset : offset + n].reshape(p.shape).detach()
        offset += n
