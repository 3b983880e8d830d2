"""Activation checkpointing: trade compute for memory by recomputing a block in backward.

``checkpoint(function, *args)`` runs ``function`` without keeping its intermediate activations;
backward runs it again, with the random state of the first run (so dropout draws the same
masks), and differentiates the recomputed graph.

Two variants, as in PyTorch:

* ``use_reentrant=True`` runs the forward under ``no_grad`` and, in backward, calls
  ``ember.autograd.backward`` on the recomputed outputs: gradients of parameters the function
  uses are accumulated into their ``.grad`` directly. Outputs require grad only if some tensor
  argument does. It supports ``.backward()`` only, not ``autograd.grad`` or ``create_graph``.
* ``use_reentrant=False`` runs the forward once with grad enabled to find the tensors the
  block depends on (its tensor arguments and the leaves, such as parameters, it reaches),
  keeps only the outputs, and connects them to those tensors through one graph node. Backward
  recomputes the block and returns the gradients through that node, so ``autograd.grad``,
  keyword arguments, parameters reached without any argument requiring grad, and
  ``create_graph=True`` all work. The peak memory of one block's forward is that of the block
  without checkpointing; its activations are dropped when the forward ends and freed when
  Python's garbage collector breaks the graph's reference cycles. Under ``create_graph`` the
  block is recomputed on its original inputs, so a parameter it uses that is also behind a
  non-leaf input is refused (it would be counted twice).
"""

import contextlib
import warnings

from ember._random import get_rng_state, set_rng_state
from ember._tensor import Tensor
from ember.autograd import Function, grad
from ember.autograd import backward as run_backward
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad

__all__ = [
    "checkpoint", "checkpoint_sequential", "CheckpointError", "noop_context_fn",
    "get_device_states", "set_device_states",
]  # fmt: skip


class CheckpointError(RuntimeError):
    """The recomputed forward differs from the original one."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


_DETERMINISM_CHECKS = ("default", "none")


def checkpoint(
    function,
    *args,
    use_reentrant=None,
    context_fn=noop_context_fn,
    determinism_check="default",
    debug=False,
    early_stop=True,
    **kwargs,
):
    """``function(*args, **kwargs)``, its activations recomputed in backward instead of kept.

    ``preserve_rng_state`` (keyword, default True) replays the random state of the forward
    during recomputation. ``use_reentrant`` should be passed: left out, it warns and uses the
    reentrant variant, as PyTorch 2.13 does. ``debug`` and ``early_stop`` are accepted for
    the non-reentrant variant and change nothing: the whole block is always recomputed.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "use_reentrant=False is recommended; pass use_reentrant=True to keep the current "
            "default behavior. See the checkpoint documentation for the differences.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(
            f"checkpoint: determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
            f"but got {determinism_check!r}"
        )
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        return _ReentrantCheckpoint.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(
        function, preserve, context_fn, determinism_check == "default", args, kwargs
    )


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list or ``nn.Sequential``) in order, checkpointing all but the last
    of ``segments`` equal segments; the last one runs normally, ready for backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. use_reentrant=False is recommended; pass "
            "use_reentrant=True to keep the current default behavior.",
            stacklevel=2,
        )
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ember.nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments}")

    def run(start, stop):
        def forward(x):
            for f in functions[start:stop]:
                x = f(x)
            return x

        return forward

    size = len(functions) // segments
    start = 0
    for _ in range(segments - 1):
        if size == 0:
            break
        input = checkpoint(
            run(start, start + size),
            input,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve,
        )
        start += size
    return run(start, len(functions))(input)


def get_device_states(*args):
    """(devices, random states) of the accelerators holding tensors in ``args``. ember's tensors
    live in host memory, whose random state ``get_rng_state`` covers, so both lists are empty."""
    return [], []


def set_device_states(devices, states, *, device_type=None):
    """Restore accelerator random states taken by ``get_device_states`` (none in ember)."""
    if len(devices) or len(states):
        raise ValueError(
            f"set_device_states: ember has no accelerator random states, got devices {devices}"
        )


@contextlib.contextmanager
def _replayed_rng(state):
    """Run the block with the random state ``state``; restore the surrounding state after."""
    if state is None:
        yield
        return
    outer = get_rng_state()
    set_rng_state(state)
    try:
        yield
    finally:
        set_rng_state(outer)


def _detached(value):
    if not isinstance(value, Tensor):
        return value
    return value.detach().requires_grad_(value.requires_grad)


class _ReentrantCheckpoint(Function):
    """The reentrant variant: forward under no_grad, a nested backward in backward."""

    @staticmethod
    def forward(ctx, function, preserve, *args):
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn(
                "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=4
            )
        ctx.function = function
        ctx.rng_state = get_rng_state() if preserve else None
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.others = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_positions])
        with no_grad():
            return function(*args)

    @staticmethod
    def backward(ctx, *grads):
        args = list(ctx.others)
        for i, t in zip(ctx.tensor_positions, ctx.saved_tensors):
            args[i] = t
        with _replayed_rng(ctx.rng_state):
            inputs = [_detached(a) for a in args]
            with enable_grad():
                outputs = ctx.function(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [
            (o, g)
            for o, g in zip(outputs, grads)
            if isinstance(o, Tensor) and o.requires_grad and g is not None
        ]
        if not pairs:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        run_backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


def _flatten(value, found):
    """Tensors in nested tuples, lists and dicts, in order; ``_rebuild`` puts others back."""
    if isinstance(value, Tensor):
        found.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _flatten(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _flatten(v, found)
    return found


def _rebuild(value, replacements):
    return _map_tensors(value, lambda _: next(replacements))


def _key(t):
    """Where a tensor sits in the graph: its producing node and output slot, or itself."""
    return (id(t.grad_fn), t._output_nr) if t.grad_fn is not None else (id(t), -1)


def _dependencies(outputs, inputs):
    """The tensors requiring grad that ``outputs`` depend on: those of ``inputs`` that are
    reached, then the leaves reached without passing through an input."""
    stops = {_key(t): t for t in inputs}
    found = {}
    seen = set()
    stack = []

    def visit(key, tensor, node):
        if key in stops:
            found.setdefault(key, stops[key])
        elif tensor is not None:  # a leaf
            found.setdefault(key, tensor)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append(node)

    for o in outputs:
        visit(_key(o), o if o.grad_fn is None else None, o.grad_fn)
    while stack:
        for fn, nr in stack.pop().next_functions:
            if fn is None:
                continue
            leaf = getattr(fn, "variable", None)
            visit((id(leaf), -1) if leaf is not None else (id(fn), nr), leaf, fn)
    ordered = [t for k, t in stops.items() if k in found]
    return ordered + [t for k, t in found.items() if k not in stops]


def _checkpoint_without_reentrant(function, preserve, context_fn, check, args, kwargs):
    forward_context, recompute_context = context_fn()
    if not is_grad_enabled():  # nothing will be differentiated: nothing to recompute
        with forward_context:
            return function(*args, **kwargs)
    rng_state = get_rng_state() if preserve else None
    with forward_context:
        result = function(*args, **kwargs)
    outputs = _flatten(result, [])
    inputs = [t for t in _flatten((args, kwargs), []) if t.requires_grad]
    positions = [i for i, o in enumerate(outputs) if o.requires_grad]
    sources = _dependencies([outputs[i] for i in positions], inputs)
    if not sources:
        return result
    state = _RecomputeState(function, args, kwargs, rng_state, recompute_context, inputs)
    state.check = check
    state.metadata = [(tuple(o.shape), o.dtype) for o in outputs]
    state.positions = positions
    kept = _Recompute.apply(state, [outputs[i].detach() for i in positions], *sources)
    replacements = [o.detach() for o in outputs]
    for i, o in zip(positions, kept if isinstance(kept, tuple) else (kept,)):
        replacements[i] = o
    # The first forward's graph, and with it the block's activations, is dropped here.
    return _rebuild(result, iter(replacements))


class _RecomputeState:
    """What the backward of a non-reentrant checkpoint needs to run the block again."""

    def __init__(self, function, args, kwargs, rng_state, context, inputs):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.context = context
        self.input_ids = {id(t) for t in inputs}


class _Recompute(Function):
    """One node standing for the whole block, with edges to the tensors it depends on."""

    @staticmethod
    def forward(ctx, state, outputs, *sources):
        ctx.state = state
        ctx.sources = sources
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        state, sources = ctx.state, ctx.sources
        create_graph = is_grad_enabled()
        if create_graph:
            _check_no_leaf_behind_inputs(sources, state.input_ids)
        replaced = {}
        for t in sources:
            if id(t) in state.input_ids:
                replaced[id(t)] = t if create_graph else t.detach().requires_grad_(True)

        def substitute(v):
            return replaced.get(id(v), v)

        args = _map_tensors(state.args, substitute)
        kwargs = _map_tensors(state.kwargs, substitute)
        with _replayed_rng(state.rng_state), enable_grad(), state.context:
            outputs = _flatten(state.function(*args, **kwargs), [])
        if state.check:
            _check_same_outputs(state.metadata, outputs)
        pairs = [
            (outputs[i], g)
            for i, g in zip(state.positions, grads)
            if g is not None and outputs[i].requires_grad
        ]
        if not pairs:
            return (None, None) + (None,) * len(sources)
        found = grad(
            [o for o, _ in pairs],
            [replaced.get(id(t), t) for t in sources],
            [g for _, g in pairs],
            create_graph=create_graph,
            allow_unused=True,
        )
        return (None, None) + tuple(found)


def _map_tensors(value, fn):
    if isinstance(value, Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_map_tensors(v, fn) for v in value])
    if isinstance(value, (tuple, list)):
        return type(value)(_map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _map_tensors(v, fn)) for k, v in value.items())
    return value


def _check_same_outputs(metadata, outputs):
    recomputed = [(tuple(o.shape), o.dtype) for o in outputs]
    if recomputed != metadata:
        raise CheckpointError(
            "checkpoint: the recomputed forward gave outputs with different "
            f"shapes or dtypes: {metadata} in the forward, {recomputed} when recomputed. "
            "Make the checkpointed function deterministic, or pass determinism_check='none'."
        )


def _check_no_leaf_behind_inputs(sources, input_ids):
    """Under create_graph the block is recomputed on its original inputs; a leaf the block
    uses that is also behind a non-leaf input would then receive its gradient twice."""
    inputs = [t for t in sources if id(t) in input_ids and t.grad_fn is not None]
    leaves = {id(t) for t in sources if id(t) not in input_ids}
    if not inputs or not leaves:
        return
    behind = _dependencies(inputs, [])
    if any(id(t) in leaves for t in behind):
        raise NotImplementedError(
            "checkpoint(use_reentrant=False) with create_graph=True: a tensor the block uses "
            "directly is also an ancestor of one of its inputs; pass it as an input instead"
        )
