"""The shared window geometry (ember._ops._geometry) against the shapes PyTorch's layers produce."""

import itertools

import pytest
import torch

import ember
from ember._ops._geometry import (
    _pair,
    _single,
    _triple,
    conv_output_size,
    output_padding_for,
    resolve_padding,
    transposed_output_size,
)

# (size, kernel, stride, padding, dilation), each window fitting in the padded input
WINDOWS = [
    (size, k, s, p, d)
    for size, k, s, p, d in itertools.product((1, 5, 8), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2))
    if size + 2 * p >= d * (k - 1) + 1
]


def test_ntuple_parsers():
    assert _single(3) == (3,) and _pair(3) == (3, 3) and _triple(2) == (2, 2, 2)
    assert _pair([1, 2]) == (1, 2) and _triple((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(RuntimeError, match="conv3d: expected stride to be a single int or 3"):
        _triple((1, 2), "stride", "conv3d")


@pytest.mark.parametrize("size, k, s, p, d", WINDOWS)
def test_conv_output_size_matches_torch(size, k, s, p, d):
    x = torch.zeros(1, 1, size)
    out = torch.nn.functional.conv1d(x, torch.zeros(1, 1, k), None, s, p, d)
    assert conv_output_size(size, k, s, p, d) == out.shape[-1]


@pytest.mark.parametrize("size, k, s, p, d", [w for w in WINDOWS if 2 * w[3] <= w[1]])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_matches_torch(size, k, s, p, d, ceil_mode):
    x = torch.zeros(1, 1, size)
    out = torch.nn.functional.max_pool1d(x, k, s, p, d, ceil_mode)
    assert conv_output_size(size, k, s, p, d, ceil_mode) == out.shape[-1]


@pytest.mark.parametrize("size, k, s, p, d", WINDOWS)
def test_transposed_output_size_and_output_padding_match_torch(size, k, s, p, d):
    for op in range(max(s, d)):
        try:
            expected = torch.nn.functional.conv_transpose1d(
                torch.zeros(1, 1, size), torch.zeros(1, 1, k), None, s, p, op, 1, d
            ).shape[-1]
        except RuntimeError:  # torch: "Output size is too small"
            assert transposed_output_size(size, k, s, p, d, op) <= 0
            continue
        assert transposed_output_size(size, k, s, p, d, op) == expected
        assert output_padding_for((1, 1, expected), (size,), (k,), (s,), (p,), (d,)) == (op,)


@pytest.mark.parametrize("kernel, dilation", [((3, 4), (1, 1)), ((2, 5), (2, 3)), ((1, 1), (1, 1))])
def test_same_padding_keeps_the_size_as_torch(kernel, dilation):
    both, high = resolve_padding("same", kernel, dilation, (1, 1), "conv2d")
    x = torch.zeros(1, 1, 7, 6)
    padded = torch.nn.functional.pad(x, [both[1], both[1] + high[1], both[0], both[0] + high[0]])
    out = torch.nn.functional.conv2d(padded, torch.zeros(1, 1, *kernel), dilation=dilation)
    ref = torch.nn.functional.conv2d(
        x, torch.zeros(1, 1, *kernel), padding="same", dilation=dilation
    )
    assert out.shape == ref.shape == x.shape


def test_padding_strings_and_errors_match_torch():
    assert resolve_padding("valid", (3, 3), (1, 1), (2, 2), "conv2d") == ((0, 0), (0, 0))
    assert resolve_padding(1, (3, 3), (1, 1), (1, 1), "conv2d") == ((1, 1), (0, 0))
    x, w = torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3)
    for lib, (inp, weight) in (
        (torch, (x, w)),
        (ember, (ember.zeros(1, 1, 5, 5), ember.zeros(1, 1, 3, 3))),
    ):
        with pytest.raises(RuntimeError, match="not supported for strided convolutions"):
            lib.nn.functional.conv2d(inp, weight, stride=2, padding="same")
        with pytest.raises(RuntimeError, match="Invalid padding string"):
            lib.nn.functional.conv2d(inp, weight, padding="full")
