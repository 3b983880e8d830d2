"""record_function's range as operators (``ops.profiler._record_function_enter``/``_exit``),
called directly and recorded in an fx graph, as pytorch/examples' fx profiling tracer does."""

import numpy as np
import torch

import ember
from ember.autograd import profiler


def _relu_in_range(lib, x):
    handle = lib.ops.profiler._record_function_enter("relu_range", None)
    y = lib.relu(x)
    lib.ops.profiler._record_function_exit(handle)
    return y


def test_ranges_opened_as_operators_are_profiled():
    x = ember.tensor([-1.0, 2.0])
    with profiler.profile() as prof:
        y = _relu_in_range(ember, x)
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["relu_range"].count == 1
    assert averages["relu_range"].cpu_time_total >= averages["ember::Relu"].cpu_time_total
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


def _traced_with_ranges(lib):
    """A tracer that records each record_function range as the enter/exit operator pair."""
    record_function = lib.autograd.profiler.record_function

    class RangeTracer(lib.fx.Tracer):
        def trace(self, root, concrete_args=None):
            originals = record_function.__enter__, record_function.__exit__
            tracer = self

            def enter(ctx):
                ctx.handle = tracer.create_proxy(
                    "call_function", lib.ops.profiler._record_function_enter, (ctx.name,), {}
                )
                return ctx.handle

            def exit_(ctx, *exc):
                lib.ops.profiler._record_function_exit(ctx.handle)

            record_function.__enter__, record_function.__exit__ = enter, exit_
            try:
                return super().trace(root, concrete_args)
            finally:
                record_function.__enter__, record_function.__exit__ = originals

    class WithRange(lib.nn.Module):
        def forward(self, x):
            with record_function("relu_range"):
                return lib.relu(x) + 1

    module = WithRange()
    graph = RangeTracer().trace(module)
    calls = [n for n in graph.nodes if n.op in ("call_function", "call_method")]
    names = [getattr(n.target, "__name__", str(n.target)) for n in calls]
    return lib.fx.GraphModule(module, graph), names


def test_fx_records_the_range_operators_as_torch_does():
    ours, our_targets = _traced_with_ranges(ember)
    _, their_targets = _traced_with_ranges(torch)
    assert our_targets == their_targets
    assert "_record_function_exit" in our_targets
    x = np.array([-3.0, 0.5, 4.0], dtype=np.float32)
    with profiler.profile() as prof:
        out = ours(ember.tensor(x))
    assert "relu_range" in {e.key for e in prof.key_averages()}
    np.testing.assert_array_equal(out.numpy(), np.maximum(x, 0) + 1)
