"""einops on ember: rearrange, reduce, repeat, einsum, pack and its torch layers, forward and
backward, against the same script on PyTorch."""

import numpy as np
import pytest

pytest.importorskip("einops")

SCRIPT = """
import json
import torch
from einops import einsum, pack, rearrange, reduce, repeat, unpack
from einops.layers.torch import EinMix, Rearrange, Reduce

x = (torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6) / 50).sin()
x.requires_grad_()
results = {
    "rearrange": rearrange(x, "b c h w -> b (h w) c"),
    "max_pool": reduce(x, "b c (h h2) (w w2) -> b c h w", "max", h2=2, w2=3),
    "mean": reduce(x, "b c h w -> b c", "mean"),
    "repeat": repeat(x[0, 0], "h w -> c h w", c=2),
    "einsum": einsum(x, x, "b c h w, b c h w -> b c"),
}
packed, shapes = pack([x, x[:, :1]], "b * h w")
results["pack"] = packed
results["unpack"] = unpack(packed, shapes, "b * h w")[1]

mix = EinMix("b c h w -> b k h w", weight_shape="c k", bias_shape="k", c=3, k=2)
head = torch.nn.Sequential(Rearrange("b c h w -> b (c h w)"), torch.nn.Linear(72, 5),
                           Reduce("b n -> n", "sum"))
with torch.no_grad():  # the same weights in both libraries
    for p in list(mix.parameters()) + list(head.parameters()):
        p.copy_((torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) / 17).cos() / 5)
results["einmix"] = mix(x)
results["head"] = head(x)
loss = sum((v.float() ** 2).sum() for v in results.values())
loss.backward()
results["x_grad"] = x.grad
results["linear_grad"] = head[1].weight.grad
print(json.dumps({k: v.detach().tolist() for k, v in results.items()}))
"""


def test_einops_script_matches_torch(run_under_both):
    ours, theirs = run_under_both(SCRIPT)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-5, err_msg=key)
