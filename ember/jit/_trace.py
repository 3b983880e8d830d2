"""``torch.jit.trace``: with the JIT off, tracing runs the function once on the example inputs
(so a function that cannot run fails here, as a real trace would) and returns it unchanged."""

from ember.autograd.grad_mode import no_grad


class TracerWarning(Warning):
    """Raised by PyTorch's tracer for code it cannot record faithfully; ember never records, so
    it never warns, but libraries filter this category by name."""

    @staticmethod
    def ignore_lib_warnings():
        pass


def is_tracing():
    """False: ember runs code eagerly and never traces it."""
    return False


def _as_tuple(example_inputs):
    return example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)


def _run_once(fn, args, kwargs):
    """Run ``fn`` as a trace would; its own error, if any, reaches the caller unchanged."""
    with no_grad():
        fn(*args, **kwargs)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):  # fmt: skip
    """Run ``func`` once on the example inputs and return it unchanged."""
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError(
            "torch.jit.trace: example_inputs or example_kwarg_inputs must be given "
            "to run the traced function on"
        )
    if example_kwarg_inputs is not None and not isinstance(example_kwarg_inputs, dict):
        raise RuntimeError(
            f"torch.jit.trace: example_kwarg_inputs must be a dict, "
            f"got {type(example_kwarg_inputs).__name__}"
        )
    args = () if example_inputs is None else _as_tuple(example_inputs)
    _run_once(func, args, example_kwarg_inputs or {})
    return func


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
                 _compilation_unit=None, example_inputs_is_kwarg=False,
                 _store_inputs=True):  # fmt: skip
    """Run each named method of ``mod`` once on its example inputs and return ``mod``."""
    if not isinstance(inputs, dict):
        raise AttributeError(
            f"torch.jit.trace_module: inputs must be a dict of method name to example inputs, "
            f"got {type(inputs).__name__}"
        )
    for name, example in inputs.items():
        method = getattr(mod, name)
        if example_inputs_is_kwarg:
            _run_once(method, (), example)
        else:
            _run_once(method, _as_tuple(example), {})
    return mod
