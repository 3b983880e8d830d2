"""CrossMapLRN2d: the legacy cross-channel local response normalization layer."""

from ember._ops.cross_map_lrn import cross_map_lrn2d
from ember.nn.modules.module import Module

__all__ = ["CrossMapLRN2d"]


class CrossMapLRN2d(Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return cross_map_lrn2d(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
