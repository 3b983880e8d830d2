"""Optimizer: parameter groups, per-parameter state, and PyTorch's state_dict layout."""

import copy
import functools
import warnings
from collections import defaultdict

import ember
from ember._tensor import RemovableHandle, Tensor
from ember.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled
from ember.optim import _foreach

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


def hyper(value):
    """A hyper-parameter as a Python float (PyTorch accepts 0-d tensors too)."""
    return float(value.item()) if isinstance(value, Tensor) else value


def _run_step_hooks(step):
    """Wrap a subclass's ``step`` so that the registered pre- and post-step hooks run."""

    @functools.wraps(step)
    def step_with_hooks(self, *args, **kwargs):
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(
                        "optimizer step pre-hook must return None or a tuple of "
                        f"(new_args, new_kwargs), but got {result!r}"
                    )
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in list(self._step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    step_with_hooks._runs_hooks = True
    return step_with_hooks


class Optimizer:
    """Base class: subclasses implement ``step`` over ``self.param_groups``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_runs_hooks", False):
            cls.step = _run_step_hooks(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_pre_hooks = {}
        self._step_post_hooks = {}
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._step_pre_hooks = {}
        self._step_post_hooks = {}

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before each step; it may return new
        ``(args, kwargs)``."""
        handle = RemovableHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each step."""
        handle = RemovableHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf and not self.defaults.get("differentiable"):
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                stacklevel=3,
            )
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    with no_grad():
                        p.grad.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    def _apply(self, group, params, grads, states):
        """Run the subclass's ``_update(group, params, grads, states)``, a rule written over
        lists of tensors: over runs of the list (by default and with ``foreach=True``), or once
        per parameter (``foreach=False``, ``fused=True``). Both give identical results. With
        ``differentiable=True`` the step runs per parameter and autograd records it.
        """
        differentiable = bool(group.get("differentiable"))
        foreach = group.get("foreach")
        if foreach and differentiable:
            raise AssertionError("_foreach ops don't support autograd")
        if foreach is None:
            foreach = not group.get("fused") and not differentiable
        with set_grad_enabled(differentiable):
            spans = _runs(params) if foreach else [(i, i + 1) for i in range(len(params))]
            for lo, hi in spans:
                self._update(group, params[lo:hi], grads[lo:hi], states[lo:hi])

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- state_dict -------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = len(index)
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        by_index = {}
        for mine, theirs in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], theirs["params"]):
                by_index[i] = p
        self.state = defaultdict(dict)
        for i, st in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: _cast_state(k, v, p) for k, v in st.items()}
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = copy.deepcopy(v)


def _cast_state(key, value, param):
    """A copy of a saved state value; floating tensors take the parameter's dtype."""
    if isinstance(value, Tensor):
        value = value.detach()
        if key != "step" and value.is_floating_point():
            value = value.to(param.dtype)
        return value.clone()
    return copy.deepcopy(value)


# a run of parameters holds about this many bytes per tensor list (half of a core's
# L2 cache), so that each parameter's state is still in cache for the rule's next op
_RUN_BYTES = 1 << 19


def _runs(params):
    """(start, stop) of consecutive parameters that the multi-tensor rule updates together:
    small ones many at a time, a large one alone."""
    spans, start, size = [], 0, 0
    for i, p in enumerate(params):
        size += p.numel() * p.element_size()
        if size >= _RUN_BYTES:
            spans.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(params):
        spans.append((start, len(params)))
    return spans


def check_flags(foreach, fused, differentiable):
    """PyTorch's constructor checks of the implementation switches."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")


def grads_of(group, maximize=False):
    """The parameters of a group that have a gradient, and those gradients (negated when
    maximizing; the negation is a new tensor, ``.grad`` is never written)."""
    params = [p for p in group["params"] if p.grad is not None]
    grads = [p.grad for p in params]
    if group.get("capturable") and params:
        raise AssertionError(
            "If capturable=True, params and state_steps must be on supported devices: "
            f"['cuda'], but they are on {sorted({str(p.device) for p in params})}"
        )
    if maximize:
        with set_grad_enabled(bool(group.get("differentiable"))):
            grads = _foreach.neg(grads)
    return params, grads


def init_state(state, param, *buffers, fill=0.0):
    """Start a parameter's state: a step counter (a 0-d float32 tensor, as PyTorch keeps it)
    and buffers shaped like the parameter, filled with ``fill``."""
    state["step"] = ember.zeros((), dtype=ember.float32)
    for name in buffers:
        state[name] = ember.full_like(param, fill, memory_format=ember.preserve_format)


def advance_steps(states):
    """Add one to each state's step counter; the new counts as Python floats."""
    steps = [s["step"] for s in states]
    with no_grad():
        _foreach.add_(steps, 1)
    return [s.item() for s in steps]


def decay_grads(params, grads, lr, weight_decay, decoupled):
    """Weight decay over lists: shrink the parameters in place (decoupled) or return new
    gradients with the parameters added."""
    if not weight_decay:
        return grads
    if decoupled:
        _foreach.mul_(params, 1 - lr * weight_decay)
        return grads
    return _foreach.add(grads, params, alpha=weight_decay)


def roots(group, tensors, eps):
    """New tensors sqrt(tensors[i]) + eps[i], of state buffers that later steps write in
    place. With ``differentiable=True`` the roots are taken of copies and ``eps`` is added out
    of place, since ember's sqrt keeps its input and its result for backward."""
    if group.get("differentiable"):
        return _foreach.add(_foreach.sqrt(_foreach.clone(tensors)), eps)
    out = _foreach.sqrt(tensors)
    _foreach.add_(out, eps)
    return out


def per_step(steps, fn):
    """``fn(step)`` for each step count: one number when all counts agree (the usual case:
    the ops then convert it once), else a list of one per count."""
    if steps and all(s == steps[0] for s in steps):
        return fn(steps[0])
    return [fn(s) for s in steps]


def buffers(states, name):
    return [s[name] for s in states]
