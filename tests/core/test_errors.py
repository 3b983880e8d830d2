"""Bad input: the error type PyTorch raises, and a message naming the op and what is wrong."""

import numpy as np
import pytest
import torch

import ember


def _leaf_inplace(lib):
    lib.ones(3, requires_grad=True).add_(1)


def _second_backward(lib):
    x = lib.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _version_counter(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


# (name, fn(lib), fragments the ember message must contain)
CASES = [
    ("matmul_shapes", lambda lib: lib.zeros(64, 784) @ lib.zeros(512, 10),
     ["mat1 and mat2 shapes cannot be multiplied (64x784 and 512x10)"]),
    ("mm_shapes", lambda lib: lib.mm(lib.zeros(2, 3), lib.zeros(4, 5)), ["2x3", "4x5"]),
    ("matmul_batched_shapes", lambda lib: lib.zeros(2, 3, 4) @ lib.zeros(2, 5, 6), ["3x4", "5x6"]),
    ("matmul_0d", lambda lib: lib.zeros(()) @ lib.zeros(3), ["1D", "0D"]),
    ("matmul_dtypes", lambda lib: lib.zeros(3, 3) @ lib.zeros(3, 3, dtype=lib.float64),
     ["same dtype", "float32", "float64"]),
    ("broadcast_add", lambda lib: lib.zeros(3, 4) + lib.zeros(5), ["add", "[3, 4]", "[5]"]),
    ("broadcast_mul", lambda lib: lib.zeros(2, 3) * lib.zeros(4, 3), ["mul", "[2, 3]", "[4, 3]"]),
    ("broadcast_where", lambda lib: lib.where(lib.zeros(3, dtype=lib.bool), lib.zeros(3),
                                              lib.zeros(4)), ["where", "[3]", "[4]"]),
    ("broadcast_expand", lambda lib: lib.zeros(2, 3).expand(3, 3), ["[3, 3]", "[2, 3]"]),
    ("dim_out_of_range_sum", lambda lib: lib.zeros(3, 4).sum(2), ["sum", "[-2, 1]", "got 2"]),
    ("dim_out_of_range_transpose", lambda lib: lib.zeros(3, 4).transpose(0, -3),
     ["transpose", "got -3"]),
    ("dim_out_of_range_softmax_cat", lambda lib: lib.cat([lib.zeros(2)], dim=1), ["got 1"]),
    ("dim_out_of_range_squeeze", lambda lib: lib.zeros(3).squeeze(1), ["squeeze", "got 1"]),
    ("index_out_of_range", lambda lib: lib.zeros(3, 4)[5], ["index 5", "size 3"]),
    ("index_out_of_range_dim1", lambda lib: lib.zeros(3, 4)[:, 4], ["index 4", "size 4"]),
    ("index_out_of_range_select", lambda lib: lib.zeros(3, 4).select(1, -5), ["-5"]),
    ("index_out_of_range_gather", lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([[9]])),
     ["gather", "9", "size 4"]),
    ("index_out_of_range_index_select",
     lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([3])), ["index_select", "3"]),
    ("view_bad_shape", lambda lib: lib.zeros(3, 4).view(5, -1), ["[5, -1]", "12"]),
    ("cat_sizes", lambda lib: lib.cat([lib.zeros(3, 4), lib.zeros(3, 5)]), ["4", "5"]),
    ("non_scalar_backward", lambda lib: (lib.ones(3, requires_grad=True) * 2).backward(),
     ["only for scalar outputs"]),
    ("second_backward", _second_backward, ["second time", "retain_graph=True"]),
    ("inplace_leaf", _leaf_inplace, ["leaf Variable that requires grad", "in-place"]),
    ("inplace_view_of_leaf", lambda lib: lib.ones(3, requires_grad=True)[0].add_(1),
     ["view of a leaf Variable"]),
    ("version_counter", _version_counter, ["modified by an inplace operation", "version"]),
    ("int_requires_grad", lambda lib: lib.ones(3, dtype=lib.int64).requires_grad_(),
     ["floating point"]),
    ("inplace_cast", lambda lib: lib.zeros(3, dtype=lib.int64).add_(lib.zeros(3)),
     ["can't be cast", "Int64"]),
    ("bitwise_float", lambda lib: lib.zeros(3).bitwise_and(lib.zeros(3)),
     ["bitwise_and", "float32"]),
    ("int_negative_power", lambda lib: lib.tensor([2]) ** -1, ["negative integer powers"]),
    ("bool_sub", lambda lib: lib.tensor([True]) - lib.tensor([False]), ["Subtraction", "bool"]),
    ("scatter_dtypes", lambda lib: lib.zeros(3).scatter(0, lib.tensor([0]),
                                                        lib.zeros(1, dtype=lib.float64)),
     ["scatter", "dtype"]),
    ("item_many", lambda lib: lib.zeros(3).item(), ["3 elements"]),
    ("bool_ambiguous", lambda lib: bool(lib.zeros(3)), ["ambiguous"]),
    ("solve_shapes", lambda lib: lib.linalg.solve(lib.eye(3), lib.zeros(2, 2)), ["3x3", "2x2"]),
    ("inv_singular", lambda lib: lib.linalg.inv(lib.zeros(2, 2)), ["singular"]),
    ("float_many", lambda lib: float(lib.zeros(3)), ["one element", "[3]"]),
    ("int_many", lambda lib: int(lib.zeros(2, 2)), ["one element", "[2, 2]"]),
    ("float_empty", lambda lib: float(lib.zeros(0)), ["one element", "[0]"]),
    ("cat_no_tensors", lambda lib: lib.cat([]), ["cat", "non-empty"]),
    ("randn_negative", lambda lib: lib.randn(-1), ["randn", "negative dimension -1"]),
    ("zeros_negative", lambda lib: lib.zeros(2, -3), ["zeros", "-3", "[2, -3]"]),
    ("linear_negative", lambda lib: lib.nn.Linear(3, -1), ["negative dimension -1"]),
    ("conv_negative_channels", lambda lib: lib.nn.Conv2d(1, -1, 3), ["negative dimension -1"]),
    ("embedding_negative_rows", lambda lib: lib.nn.Embedding(-1, 3), ["negative dimension -1"]),
    ("argmax_empty", lambda lib: lib.zeros(0).argmax(), ["argmax", "numel() == 0"]),
    ("argmin_empty", lambda lib: lib.zeros(2, 0).argmin(), ["argmin", "[2, 0]"]),
    ("amax_empty", lambda lib: lib.zeros(0).amax(), ["amax", "reduction dim"]),
    ("index_select_float_index",
     lambda lib: lib.zeros(3).index_select(0, lib.tensor([0.0])), ["index_select", "int64"]),
    ("conv2d_stride_zero",
     lambda lib: lib.nn.functional.conv2d(lib.zeros(1, 1, 4, 4), lib.zeros(1, 1, 3, 3), stride=0),
     ["conv2d", "stride", "[0, 0]"]),
    ("conv1d_stride_zero",
     lambda lib: lib.nn.functional.conv1d(lib.zeros(1, 1, 5), lib.zeros(1, 1, 3), stride=0),
     ["stride"]),
    ("conv2d_dilation_zero",
     lambda lib: lib.nn.functional.conv2d(lib.zeros(1, 1, 4, 4), lib.zeros(1, 1, 3, 3),
                                          dilation=0), ["conv2d", "dilation"]),
    ("conv2d_negative_padding",
     lambda lib: lib.nn.functional.conv2d(lib.zeros(1, 1, 4, 4), lib.zeros(1, 1, 3, 3),
                                          padding=-1), ["conv2d", "negative padding"]),
    ("conv_transpose2d_stride_zero",
     lambda lib: lib.nn.functional.conv_transpose2d(lib.zeros(1, 1, 4, 4),
                                                    lib.zeros(1, 1, 3, 3), stride=0),
     ["conv_transpose2d", "stride"]),
    ("max_pool2d_stride_zero",
     lambda lib: lib.nn.functional.max_pool2d(lib.zeros(1, 1, 4, 4), 2, stride=0),
     ["max_pool2d", "stride"]),
    ("avg_pool1d_stride_zero",
     lambda lib: lib.nn.functional.avg_pool1d(lib.zeros(1, 1, 4), 2, stride=0), ["stride"]),
    ("max_pool2d_kernel_zero",
     lambda lib: lib.nn.functional.max_pool2d(lib.zeros(1, 1, 4, 4), 0), ["max_pool2d"]),
    ("kthvalue_k_too_large", lambda lib: lib.arange(3.0).kthvalue(5),
     ["kthvalue", "k out of range", "k=5", "size 3"]),
    ("gather_negative_index", lambda lib: lib.zeros(2, 3).gather(1, lib.tensor([[-1]])),
     ["gather", "index -1", "size 3"]),
    ("one_hot_negative", lambda lib: lib.nn.functional.one_hot(lib.tensor([-1]), 3),
     ["one_hot", "non-negative", "-1"]),
    ("linear_3d_weight",
     lambda lib: lib.nn.functional.linear(lib.zeros(2, 3), lib.zeros(1, 4, 3)),
     ["linear", "[1, 4, 3]"]),
    ("view_dtype_size",
     lambda lib: lib.zeros(2, 3).view(lib.float64), ["divisible by 2", "got 3"]),
    ("view_dtype_0d", lambda lib: lib.tensor(1.0).view(lib.int16), ["cannot be 0"]),
    ("view_dtype_stride",
     lambda lib: lib.zeros(2, 3).t().view(lib.int16), ["stride(-1) must be 1"]),
]  # fmt: skip


@pytest.mark.parametrize("fn,fragments", [pytest.param(f, m, id=n) for n, f, m in CASES])
def test_error_type_and_message(fn, fragments):
    with pytest.raises(Exception) as ref:
        fn(torch)
    if issubclass(ref.type, torch.linalg.LinAlgError):
        expected = ember.linalg.LinAlgError
    else:
        expected = next(c for c in ref.type.__mro__ if c.__module__ == "builtins")
    with pytest.raises(expected) as got:
        fn(ember)
    message = str(got.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message


def test_errors_are_not_numpy_errors():
    """NumPy's own exceptions never reach the user from these ops."""
    for _, fn, _ in CASES:
        try:
            fn(ember)
        except Exception as e:  # noqa: BLE001 - checking the type is the point
            assert not type(e).__module__.startswith("numpy"), type(e)
            assert not isinstance(e, np.linalg.LinAlgError)


def test_deep_chain_backward_has_no_recursion_error():
    """100,000 ops in one chain: the engine walks the graph without recursion."""
    x = ember.tensor([0.5, 1.5], requires_grad=True)
    y = x
    for _ in range(50_000):
        y = (y * 1.0) + 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_deep_chain_grad_with_create_graph():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    (g,) = ember.autograd.grad(y, x, create_graph=True)
    assert g.item() == 1.0
