"""A compiled callable: guard, capture and fuse on a miss, run the cached graph on a hit.

Per guard key (see ``guards``) the callable keeps one compiled graph. Once it holds
``recompile_limit`` of them (``ember._dynamo.config``'s unless given), calls with new keys
run eagerly, as torch does. A callable that cannot be captured as one graph (Python
control flow on tensor values, unsupported calls) runs eagerly from then on, or raises
``ember._dynamo.exc.Unsupported`` under ``fullgraph=True``.
"""

import logging
import time

from ember._compile import guards
from ember._compile.capture import (
    CaptureError,
    bind,
    capture,
    placeholder_names,
    record_run,
    signature_of,
)
from ember._compile.fusion import fuse
from ember._dynamo import config, exc, utils
from ember.fx.proxy import Proxy
from ember.nn import Module

log = logging.getLogger("ember._dynamo")


class _Entry:
    __slots__ = ("graph", "names")

    def __init__(self, graph, names):
        self.graph, self.names = graph, names


class CompiledCallable:
    """``target`` (a module or a function) compiled with ember's fusing backend."""

    def __init__(
        self, target, fullgraph=False, backend="inductor", name=None, recompile_limit=None
    ):
        self.target = target
        self.fullgraph = fullgraph
        self.backend = backend  # "inductor" fuses; a callable gets (GraphModule, inputs)
        self.recompile_limit = recompile_limit  # None: ember._dynamo.config's
        self._is_module = isinstance(target, Module)
        self.fn = type(target).forward if self._is_module else target
        owner = type(target) if isinstance(target, Module) else target
        self.name = name or getattr(owner, "__qualname__", "fn")
        self.cache = {}
        self.limit_reached = False
        self.uncapturable = None  # the reason, once capture failed
        try:
            self.signature = signature_of(self.fn)
        except (CaptureError, ValueError, TypeError) as error:
            self.signature, self.uncapturable = None, str(error)

    def __call__(self, *args, **kwargs):
        if self.uncapturable is not None:
            if self.fullgraph:
                raise exc.Unsupported(
                    f"ember.compile(fullgraph=True) of {self.name}: {self.uncapturable}"
                )
            return self.target(*args, **kwargs)
        arguments = bind(self.signature, (self.target, *args) if self._is_module else args, kwargs)
        if any(isinstance(v, Proxy) for v in arguments.values()):
            return self.target(*args, **kwargs)  # inside another trace: be traced through
        if self._is_module:
            arguments.pop(next(iter(arguments)))  # self
        key = guards.call_key(self.target, arguments)
        entry = self.cache.get(key)
        if entry is None:
            return self._compile(key, arguments, args, kwargs)
        return entry.graph(*[arguments[n] for n in entry.names])

    def _fall_back(self, reason, args, kwargs):
        if self.fullgraph:
            raise exc.Unsupported(f"ember.compile(fullgraph=True) of {self.name}: {reason}")
        log.info("ember.compile: running %s eagerly: %s", self.name, reason)
        self.uncapturable = reason
        return self.target(*args, **kwargs)

    def _compile(self, key, arguments, args, kwargs):
        limit = config.recompile_limit if self.recompile_limit is None else self.recompile_limit
        if len(self.cache) >= limit:
            if not self.limit_reached:
                self.limit_reached = True
                log.warning(
                    "ember.compile: %s hit recompile_limit (%d); new inputs run eagerly",
                    self.name,
                    limit,
                )
            return self.target(*args, **kwargs)
        start = time.perf_counter()
        try:
            gm = capture(self.target, arguments)
        except CaptureError as error:
            return self._fall_back(str(error), args, kwargs)
        names = placeholder_names(gm, arguments)
        captured = time.perf_counter()
        result = record_run(gm, [arguments[n] for n in names])
        ran = time.perf_counter()
        example_inputs = [arguments[n] for n in names]
        if callable(self.backend):
            runner, kernels = self.backend(gm, example_inputs), []
        else:
            runner, kernels = gm, fuse(gm)
        fused = time.perf_counter()
        utils.record_compile(
            self.name,
            capture=captured - start,
            first_run=ran - captured,
            fusion=fused - ran,
            kernels=len(kernels),
        )
        self.cache[key] = _Entry(runner, names)
        return result
