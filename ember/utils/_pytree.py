"""Pytrees: nested containers (lists, tuples, dicts, namedtuples, ...) whose non-container items
are leaves, as in ``torch.utils._pytree``.

``tree_flatten`` turns a tree into its leaves (depth first, children in container order) and a
``TreeSpec`` that describes the containers; ``tree_unflatten`` rebuilds the tree from leaves and
spec. A container type is a node when it is registered (``register_pytree_node``); anything else
is a leaf, ``None`` included. ``is_leaf=`` makes chosen subtrees leaves.
"""

import collections
import dataclasses
import importlib
import json
import types
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "PyTree", "Context", "FlattenFn", "UnflattenFn", "TreeSpec", "LeafSpec", "SUPPORTED_NODES",
    "NodeDef", "SequenceKey", "MappingKey", "GetAttrKey", "keystr", "key_get",
    "register_pytree_node", "tree_is_leaf", "tree_flatten", "tree_flatten_with_path",
    "tree_unflatten", "tree_iter", "tree_leaves", "tree_leaves_with_path", "tree_structure",
    "tree_map", "tree_map_with_path", "tree_map_", "tree_map_only", "tree_map_only_", "tree_all",
    "tree_any", "tree_all_only", "tree_any_only", "treespec_dumps", "treespec_loads",
    "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance",
]  # fmt: skip

PyTree = Any
Context = Any
FlattenFn = Callable[[PyTree], tuple[list, Context]]
UnflattenFn = Callable[[list, Context], PyTree]


class NodeDef(NamedTuple):
    """How a registered container type is taken apart and put back together."""

    type: type
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn
    flatten_with_keys_fn: Callable | None


class _Serialization(NamedTuple):
    """How ``treespec_dumps`` names a node type and turns its context into JSON."""

    name: str
    to_dumpable_context: Callable | None
    from_dumpable_context: Callable | None


SUPPORTED_NODES: dict = {}
_SERIALIZATIONS: dict = {}  # node type -> _Serialization
_TYPES_BY_SERIALIZED_NAME: dict = {}
_NAMEDTUPLE_NAMES: dict = {}  # namedtuple class -> its serialized name, and back
_NAMEDTUPLES_BY_NAME: dict = {}


# Keys: how a child is reached from its parent, for ``tree_flatten_with_path`` and ``keystr``.
@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    key: Any

    def __str__(self):
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self):
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp):
    """A key path as source text: ``(MappingKey('a'), SequenceKey(1))`` gives ``['a'][1]``."""
    return "".join(str(k) for k in kp)


def key_get(obj, kp):
    """The item of ``obj`` at key path ``kp``."""
    for k in kp:
        obj = k.get(obj)
    return obj


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None):  # fmt: skip
    """Make ``cls`` a container: ``flatten_fn(x) -> (children, context)`` and
    ``unflatten_fn(children, context) -> x``. ``flatten_with_keys_fn(x) -> ([(key, child)...],
    context)`` gives ``tree_flatten_with_path`` its keys (without it, paths are unavailable for
    ``cls``). ``serialized_type_name`` names ``cls`` in ``treespec_dumps``, whose JSON holds the
    context as ``to_dumpable_context(context)`` (``json.dumps(context)`` by default)."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
    if serialized_type_name is not None:
        _SERIALIZATIONS[cls] = _Serialization(
            serialized_type_name, to_dumpable_context, from_dumpable_context
        )
        _TYPES_BY_SERIALIZED_NAME[serialized_type_name] = cls


def _deregister_pytree_node(cls):
    """Make ``cls`` a leaf again."""
    del SUPPORTED_NODES[cls]
    serialization = _SERIALIZATIONS.pop(cls, None)
    if serialization is not None:
        del _TYPES_BY_SERIALIZED_NAME[serialization.name]


def _register_namedtuple(cls, *, serialized_type_name):
    """Name a namedtuple class for ``treespec_dumps`` (namedtuples need no other registration)."""
    _NAMEDTUPLE_NAMES[cls] = serialized_type_name
    _NAMEDTUPLES_BY_NAME[serialized_type_name] = cls


def _register_pytree_node(cls, flatten_fn, unflatten_fn, to_str_fn=None, maybe_from_str_fn=None,
                          *, serialized_type_name=None, to_dumpable_context=None,
                          from_dumpable_context=None, flatten_with_keys_fn=None):  # fmt: skip
    """The earlier, private spelling of ``register_pytree_node`` that libraries still call."""
    register_pytree_node(
        cls, flatten_fn, unflatten_fn, serialized_type_name=serialized_type_name,
        to_dumpable_context=to_dumpable_context, from_dumpable_context=from_dumpable_context,
        flatten_with_keys_fn=flatten_with_keys_fn,
    )  # fmt: skip


def is_namedtuple_class(cls):
    """True for classes made by ``collections.namedtuple`` or ``typing.NamedTuple``."""
    return (
        isinstance(cls, type)
        and issubclass(cls, tuple)
        and isinstance(getattr(cls, "_fields", None), tuple)
        and callable(getattr(cls, "_make", None))
    )


def is_namedtuple_instance(obj):
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj):
    """True for a namedtuple class or instance."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def _node_type(tree):
    """The key of ``tree``'s entry in SUPPORTED_NODES (namedtuples share one), or its type."""
    t = type(tree)
    if t not in SUPPORTED_NODES and is_namedtuple_class(t):
        return collections.namedtuple
    return t


_get_node_type = _node_type  # PyTorch's name, which libraries import


def tree_is_leaf(tree, is_leaf=None):
    """True when ``tree`` is not a registered container, or ``is_leaf(tree)`` says it is a leaf."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _node_type(tree) not in SUPPORTED_NODES


class TreeSpec:
    """The shape of a pytree: the container type of each node, its context (dict keys, the
    namedtuple class, ...) and its children's specs; a leaf is a spec with type ``None``."""

    def __init__(self, type, context, children_specs):
        self.type = type
        self._context = context
        self._children = list(children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in self._children)
        self.num_leaves = 1 if type is None else sum(c.num_leaves for c in self._children)
        self.num_children = len(self._children)

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self):
        return self._children

    def is_leaf(self):
        return self.type is None

    def children(self):
        return list(self._children)

    def child(self, index):
        return self._children[index]

    def __eq__(self, other):
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type, self._context, self._children) == (
            other.type,
            other._context,
            other._children,
        )

    def __hash__(self):
        return hash((self.type, repr(self._context), tuple(self._children)))

    def __repr__(self, indent=0):
        if self.is_leaf():
            return "*"
        name = getattr(self.type, "__name__", repr(self.type))
        inner = indent + 2
        children = (",\n" + " " * inner).join(c.__repr__(inner) for c in self._children)
        return f"TreeSpec({name}, {self._context}, [{children}])"

    def unflatten(self, leaves):
        """Rebuild the tree this spec describes from its ``num_leaves`` leaves."""
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self!r})."
            )
        return self._build(iter(leaves))

    def _build(self, leaves):
        if self.is_leaf():
            return next(leaves)
        children = [c._build(leaves) for c in self._children]
        return SUPPORTED_NODES[self.type].unflatten_fn(children, self._context)

    def flatten_up_to(self, tree):
        """The subtrees of ``tree`` at this spec's leaves; ``tree`` must have this spec's
        containers (it may hold larger subtrees where the spec has leaves)."""
        out = []
        self._collect_up_to(tree, out)
        return out

    def _collect_up_to(self, tree, out):
        if self.is_leaf():
            out.append(tree)
            return
        node_type = _node_type(tree)
        both_dicts = self.type in _DICT_NODES and node_type in _DICT_NODES
        if node_type is not self.type and not both_dicts:
            raise ValueError(f"Node type mismatch; expected {self.type}, but got {node_type}.")
        children, context = SUPPORTED_NODES[node_type].flatten_fn(tree)
        if both_dicts:
            children = self._dict_children_in_spec_order(tree)
        elif len(children) != self.num_children:
            raise ValueError(
                f"Node arity mismatch; expected {self.num_children}, but got {len(children)}."
            )
        elif context != self._context and node_type is not collections.deque:  # maxlen aside
            raise ValueError(
                f"Node context mismatch for node type {self.type}; "
                f"expected {self._context}, but got {context}."
            )
        for spec, child in zip(self._children, children):
            spec._collect_up_to(child, out)

    def _dict_children_in_spec_order(self, mapping):
        """A dict-like ``mapping``'s values in this spec's key order; any dict type matches any
        other when their keys are the same."""
        keys = self._context[1] if self.type is collections.defaultdict else self._context
        missing, extra = set(keys) - set(mapping), set(mapping) - set(keys)
        if missing or extra:
            raise ValueError(
                f"Node keys mismatch; missing key(s): {missing}; extra key(s): {extra}."
            )
        return [mapping[k] for k in keys]


class LeafSpec(TreeSpec):
    """The spec of a single leaf, printed ``*``."""

    def __init__(self):
        super().__init__(None, None, [])


_LEAF = LeafSpec()


def _flatten_into(tree, leaves, is_leaf):
    if tree_is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF
    node_type = _node_type(tree)
    children, context = SUPPORTED_NODES[node_type].flatten_fn(tree)
    return TreeSpec(node_type, context, [_flatten_into(c, leaves, is_leaf) for c in children])


def tree_flatten(tree, is_leaf=None):
    """The leaves of ``tree`` (depth first) and the ``TreeSpec`` that rebuilds it."""
    leaves = []
    spec = _flatten_into(tree, leaves, is_leaf)
    return leaves, spec


def tree_unflatten(leaves, treespec):
    """Rebuild a tree from its leaves and the spec ``tree_flatten`` gave."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            f"tree_unflatten(leaves, treespec): Expected `treespec` to be an instance of "
            f"TreeSpec but got item of type {type(treespec)}."
        )
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """The leaves of ``tree``, one at a time, in ``tree_flatten``'s order."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree, is_leaf=None):
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func, tree, *rests, is_leaf=None):
    """A tree of ``tree``'s shape whose leaves are ``func(leaf, *matching leaves of rests)``;
    each of ``rests`` must have ``tree``'s containers."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(*xs) for xs in zip(leaves, *others))


def tree_map_(func, tree, *rests, is_leaf=None):
    """Call ``func`` on the leaves (for its side effects) and return ``tree`` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    for xs in zip(leaves, *others):
        func(*xs)
    return tree


def _leaf_filter(type_or_types_or_pred):
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        return lambda x: isinstance(x, type_or_types_or_pred)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError(
        f"tree_map_only: expected a type, a tuple of types or a predicate, "
        f"got {type_or_types_or_pred!r}"
    )


def _only(type_or_types_or_pred, func):
    wanted = _leaf_filter(type_or_types_or_pred)
    return lambda x: func(x) if wanted(x) else x


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    """``tree_map`` that applies ``func`` only to leaves of the given type(s), or for which the
    given predicate is true; other leaves are kept."""
    return tree_map(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map_(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None):
    return all(pred(x) for x in tree_iter(tree, is_leaf))


def tree_any(pred, tree, is_leaf=None):
    return any(pred(x) for x in tree_iter(tree, is_leaf))


def tree_all_only(type_or_types, pred, tree, is_leaf=None):
    wanted = _leaf_filter(type_or_types)
    return all(pred(x) for x in tree_iter(tree, is_leaf) if wanted(x))


def tree_any_only(type_or_types, pred, tree, is_leaf=None):
    wanted = _leaf_filter(type_or_types)
    return any(pred(x) for x in tree_iter(tree, is_leaf) if wanted(x))


def _keyed_children(tree):
    node = SUPPORTED_NODES[_node_type(tree)]
    if node.flatten_with_keys_fn is None:
        raise ValueError(
            f"tree_flatten_with_path: {type(tree)} was registered without flatten_with_keys_fn, "
            "so its children have no keys"
        )
    return node.flatten_with_keys_fn(tree)[0]


def _leaves_with_path(tree, path, is_leaf, out):
    if tree_is_leaf(tree, is_leaf):
        out.append((path, tree))
        return
    for key, child in _keyed_children(tree):
        _leaves_with_path(child, (*path, key), is_leaf, out)


def tree_leaves_with_path(tree, is_leaf=None):
    """``(key path, leaf)`` pairs in ``tree_flatten``'s order."""
    out = []
    _leaves_with_path(tree, (), is_leaf, out)
    return out


def tree_flatten_with_path(tree, is_leaf=None):
    return tree_leaves_with_path(tree, is_leaf), tree_structure(tree, is_leaf)


def tree_map_with_path(func, tree, *rests, is_leaf=None):
    """``tree_map`` whose ``func`` also receives each leaf's key path first."""
    keyed, spec = tree_flatten_with_path(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(kp, x, *xs) for (kp, x), *xs in zip(keyed, *others))


# Serialization: a spec as JSON text, in PyTorch's format (protocol 1).
_PROTOCOL = 1


def treespec_dumps(treespec, protocol=None):
    """``treespec`` as JSON text; every node type in it needs a serialized name."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            f"treespec_dumps(treespec): Expected `treespec` to be an instance of TreeSpec but "
            f"got item of type {type(treespec)}."
        )
    protocol = _PROTOCOL if protocol is None else protocol
    _check_protocol(protocol)
    return json.dumps([protocol, _spec_to_json(treespec)])


def treespec_loads(serialized):
    """The spec ``treespec_dumps`` wrote."""
    protocol, json_spec = json.loads(serialized)
    _check_protocol(protocol)
    return _spec_from_json(json_spec)


def _check_protocol(protocol):
    if protocol != _PROTOCOL:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: [{_PROTOCOL}]")


def _spec_to_json(spec):
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    serialization = _SERIALIZATIONS.get(spec.type)
    if serialization is None:
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. Please update your "
            "register_pytree_node call with a `serialized_type_name` kwarg."
        )
    to_dumpable = serialization.to_dumpable_context
    return {
        "type": serialization.name,
        "context": json.dumps(spec.context) if to_dumpable is None else to_dumpable(spec.context),
        "children_spec": [_spec_to_json(c) for c in spec.children()],
    }


def _spec_from_json(json_spec):
    if json_spec["type"] is None:
        return LeafSpec()
    node_type = _TYPES_BY_SERIALIZED_NAME.get(json_spec["type"])
    if node_type is None:
        raise NotImplementedError(
            f"No registered node type for the serialized name {json_spec['type']!r}: register "
            "it with register_pytree_node(..., serialized_type_name=...)"
        )
    from_dumpable = _SERIALIZATIONS[node_type].from_dumpable_context
    context = json_spec["context"]
    context = json.loads(context) if from_dumpable is None else from_dumpable(context)
    return TreeSpec(node_type, context, [_spec_from_json(c) for c in json_spec["children_spec"]])


def _namedtuple_to_dumpable(cls):
    if cls not in _NAMEDTUPLE_NAMES:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {cls} because it has no serialized "
            "name. Please register one with `_register_namedtuple`."
        )
    return _NAMEDTUPLE_NAMES[cls]


def _namedtuple_from_dumpable(name):
    if name not in _NAMEDTUPLES_BY_NAME:
        raise NotImplementedError(f"No namedtuple class registered as {name!r}")
    return _NAMEDTUPLES_BY_NAME[name]


def _defaultdict_to_dumpable(context):
    factory, keys = context
    return {
        "default_factory_module": factory.__module__,
        "default_factory_name": factory.__qualname__,
        "dict_context": keys,
    }


def _defaultdict_from_dumpable(dumpable):
    module = importlib.import_module(dumpable["default_factory_module"])
    return [getattr(module, dumpable["default_factory_name"]), dumpable["dict_context"]]


# The built-in containers. The named functions are also imported by libraries (transformers
# registers its output classes with ``_dict_flatten_with_keys``).
_DICT_NODES = (dict, collections.OrderedDict, collections.defaultdict)


def _tuple_flatten(t):
    return list(t), None


def _tuple_unflatten(values, context):
    return tuple(values)


def _list_flatten(x):
    return list(x), None


def _list_unflatten(values, context):
    return list(values)


def _sequence_flatten_with_keys(seq):
    return [(SequenceKey(i), x) for i, x in enumerate(seq)], None


def _dict_flatten(d):
    return list(d.values()), list(d.keys())


def _dict_unflatten(values, context):
    return dict(zip(context, values))


def _dict_flatten_with_keys(d):
    values, context = _dict_flatten(d)
    return [(MappingKey(k), v) for k, v in zip(context, values)], context


def _namedtuple_flatten(t):
    return list(t), type(t)


def _namedtuple_unflatten(values, context):
    return context(*values)


def _namedtuple_flatten_with_keys(t):
    return [(GetAttrKey(f), getattr(t, f)) for f in t._fields], type(t)


def _ordereddict_unflatten(values, context):
    return collections.OrderedDict(zip(context, values))


def _defaultdict_flatten(d):
    values, keys = _dict_flatten(d)
    return values, [d.default_factory, keys]


def _defaultdict_unflatten(values, context):
    default_factory, keys = context
    return collections.defaultdict(default_factory, zip(keys, values))


def _defaultdict_flatten_with_keys(d):
    values, context = _defaultdict_flatten(d)
    return [(MappingKey(k), v) for k, v in zip(context[1], values)], context


def _deque_flatten(d):
    return list(d), d.maxlen


def _deque_unflatten(values, context):
    return collections.deque(values, maxlen=context)


def _deque_flatten_with_keys(d):
    values, maxlen = _deque_flatten(d)
    return [(SequenceKey(i), x) for i, x in enumerate(values)], maxlen


for _node in (
    NodeDef(tuple, _tuple_flatten, _tuple_unflatten, _sequence_flatten_with_keys),
    NodeDef(list, _list_flatten, _list_unflatten, _sequence_flatten_with_keys),
    NodeDef(dict, _dict_flatten, _dict_unflatten, _dict_flatten_with_keys),
    NodeDef(
        collections.namedtuple,
        _namedtuple_flatten,
        _namedtuple_unflatten,
        _namedtuple_flatten_with_keys,
    ),
    NodeDef(
        collections.OrderedDict, _dict_flatten, _ordereddict_unflatten, _dict_flatten_with_keys
    ),
    NodeDef(
        collections.defaultdict,
        _defaultdict_flatten,
        _defaultdict_unflatten,
        _defaultdict_flatten_with_keys,
    ),
    NodeDef(collections.deque, _deque_flatten, _deque_unflatten, _deque_flatten_with_keys),
):
    SUPPORTED_NODES[_node.type] = _node

for _builtin, _serialization in (
    (tuple, _Serialization("builtins.tuple", None, None)),
    (list, _Serialization("builtins.list", None, None)),
    (dict, _Serialization("builtins.dict", None, None)),
    (
        collections.namedtuple,
        _Serialization(
            "collections.namedtuple", _namedtuple_to_dumpable, _namedtuple_from_dumpable
        ),
    ),
    (collections.OrderedDict, _Serialization("collections.OrderedDict", None, None)),
    (
        collections.defaultdict,
        _Serialization(
            "collections.defaultdict", _defaultdict_to_dumpable, _defaultdict_from_dumpable
        ),
    ),
    (collections.deque, _Serialization("collections.deque", None, None)),
):
    _SERIALIZATIONS[_builtin] = _serialization
    _TYPES_BY_SERIALIZED_NAME[_serialization.name] = _builtin

del _node, _builtin, _serialization
