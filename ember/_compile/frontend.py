"""``ember.compile``: check the settings and wrap the target.

A module becomes an ``OptimizedModule`` and a function a wrapper of the same name, both
calling a ``CompiledCallable``. ``backend="inductor"`` (the default) captures and fuses;
``"eager"`` and ``"aot_eager"`` keep the wrapper but run the original code; a callable
backend gets each captured ``GraphModule`` and example inputs and returns what to run, as in
torch. ``disable=True`` returns the target itself.
"""

import functools

from ember._dynamo import exc
from ember._dynamo.eval_frame import OptimizedModule
from ember.nn import Module

FUSING_BACKENDS = ("inductor",)
EAGER_BACKENDS = ("eager", "aot_eager")
MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile_callable(model, *, fullgraph, backend, mode, options, name, disable, recompile_limit):
    if mode is not None and options is not None:
        raise RuntimeError(
            "Either mode or options can be specified, but both can't be specified at the same time."
        )
    if mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES[1:])}")
    backend = "inductor" if backend is None else backend
    if not callable(backend) and backend not in FUSING_BACKENDS + EAGER_BACKENDS:
        raise exc.InvalidBackend(backend)
    if not callable(model):
        raise RuntimeError(f"ember.compile: expected a Module or a callable, got {type(model)}")
    if disable:
        return model
    if backend in EAGER_BACKENDS:
        compiled = None
    else:
        # imported on first use: capture needs ember.fx, which `import ember` leaves unloaded
        from ember._compile.compiled import CompiledCallable

        compiled = CompiledCallable(model, fullgraph, backend, name, recompile_limit)
    if isinstance(model, Module):
        return OptimizedModule(model, compiled)
    target = compiled if compiled is not None else model

    @functools.wraps(model)
    def compiled_function(*args, **kwargs):
        return target(*args, **kwargs)

    compiled_function._torchdynamo_orig_callable = model
    compiled_function._ember_compiled = compiled  # its cache, for inspection
    return compiled_function


def compile(model=None, *, fullgraph=False, dynamic=None, backend=None, mode=None, options=None,
            name=None, disable=False, recompile_limit=None, isolate_recompiles=False,
            shapes_spec=None):  # fmt: skip
    """Compile a module or function (``ember._compile``): guarded graphs with fused
    elementwise kernels. Usable as a call, a bare decorator and a decorator with arguments;
    ``dynamic``, ``isolate_recompiles`` and ``shapes_spec`` are accepted and every shape is
    compiled statically."""
    settings = dict(fullgraph=fullgraph, backend=backend, mode=mode, options=options, name=name,
                    disable=disable, recompile_limit=recompile_limit)  # fmt: skip
    if model is None:
        return lambda m: compile_callable(m, **settings)
    return compile_callable(model, **settings)
