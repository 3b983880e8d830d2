"""nn utilities: gradient clipping, flattening parameters, weight and spectral norm, packed
sequences, pruning, fusing batch norm into the layer before it."""

from ember.nn.utils import fusion, parametrizations, parametrize, prune, rnn
from ember.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from ember.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from ember.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm
from ember.nn.utils.weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "fusion",
    "prune",
    "rnn",
    "parametrize",
    "parametrizations",
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "weight_norm",
    "remove_weight_norm",
    "spectral_norm",
    "remove_spectral_norm",
]
