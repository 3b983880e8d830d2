"""torch._dynamo.config: the settings libraries read or set before compiling. ember compiles
nothing, so they are kept with PyTorch 2.13's defaults and have no effect."""

import contextlib

cache_size_limit = 8
accumulated_cache_size_limit = 256
recompile_limit = 8
accumulated_recompile_limit = 256
suppress_errors = False
verbose = False
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True
specialize_int = False
dynamic_shapes = True
optimize_ddp = True
force_parameter_static_shapes = True
inline_inbuilt_nn_modules = True


@contextlib.contextmanager
def patch(changes=None, **kwargs):
    """Set settings for the duration of a ``with`` block (or a decorated function)."""
    changes = {**(changes or {}), **kwargs}
    module = globals()
    unknown = [k for k in changes if k not in module or k.startswith("_")]
    if unknown:
        raise AttributeError(f"torch._dynamo.config.patch: unknown settings {unknown}")
    saved = {k: module[k] for k in changes}
    module.update(changes)
    try:
        yield
    finally:
        module.update(saved)
