"""ember.utils._pytree against torch.utils._pytree: same leaves, same specs, same errors."""

import collections

import pytest
import torch.utils._pytree as torch_pytree

from ember.utils import _pytree as pytree

Point = collections.namedtuple("Point", "x y")


def _trees():
    return [
        5,
        None,
        [],
        (),
        {},
        [1, (2, 3), {"b": 4, "a": 5}, None],
        {"k": Point(1, [2, "s"]), "z": (3.5,)},
        collections.OrderedDict([("q", 3), ("p", [4, 5])]),
        collections.defaultdict(list, {"z": 1, "y": [2, 3]}),
        collections.deque([1, (2, 3)], maxlen=4),
        [Point(x=[1, 2], y={"w": (3, 4)}), collections.deque([5])],
        ((), {}, [[[]]]),
    ]


def _describe(spec):
    """A spec as nested tuples through its public attributes, for either library."""
    if spec.is_leaf():
        return "*"
    return (spec.type, spec.context, tuple(_describe(c) for c in spec.children()))


@pytest.mark.parametrize("tree", _trees(), ids=repr)
def test_flatten_matches_torch(tree):
    leaves, spec = pytree.tree_flatten(tree)
    torch_leaves, torch_spec = torch_pytree.tree_flatten(tree)
    assert leaves == torch_leaves
    assert _describe(spec) == _describe(torch_spec)
    assert repr(spec) == repr(torch_spec)
    assert (spec.num_leaves, spec.num_nodes, spec.num_children) == (
        torch_spec.num_leaves,
        torch_spec.num_nodes,
        torch_spec.num_children,
    )


@pytest.mark.parametrize("tree", _trees(), ids=repr)
def test_unflatten_round_trip(tree):
    leaves, spec = pytree.tree_flatten(tree)
    rebuilt = pytree.tree_unflatten(leaves, spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert pytree.tree_structure(rebuilt) == spec
    if isinstance(tree, collections.defaultdict):
        assert rebuilt.default_factory is tree.default_factory
    if isinstance(tree, collections.deque):
        assert rebuilt.maxlen == tree.maxlen


@pytest.mark.parametrize("tree", _trees(), ids=repr)
def test_leaves_and_map_match_torch(tree):
    def f(x):
        return (x, "seen")

    assert pytree.tree_leaves(tree) == torch_pytree.tree_leaves(tree)
    assert list(pytree.tree_iter(tree)) == list(torch_pytree.tree_iter(tree))
    assert pytree.tree_map(f, tree) == torch_pytree.tree_map(f, tree)


def test_tree_map_with_several_trees():
    a = {"b": [1, 2], "a": (3, Point(4, 5))}
    b = {"a": (30, Point(40, 50)), "b": [10, 20]}  # same keys in another order
    both = pytree.tree_map(lambda x, y: x + y, a, b)
    assert both == torch_pytree.tree_map(lambda x, y: x + y, a, b)
    # a leaf of the first tree may face a whole subtree of the others
    pairs = pytree.tree_map(lambda x, y: (x, y), [1, 2], [[1], {"x": 2}])
    assert pairs == torch_pytree.tree_map(lambda x, y: (x, y), [1, 2], [[1], {"x": 2}])


@pytest.mark.parametrize(
    "first, second",
    [
        ([1, 2], [1, 2, 3]),
        ([1, 2], (1, 2)),
        ({"a": 1}, {"b": 1}),
        (Point(1, 2), collections.namedtuple("Other", "x y")(1, 2)),
    ],
    ids=["arity", "type", "keys", "namedtuple-class"],
)
def test_tree_map_structure_mismatch_is_value_error_as_in_torch(first, second):
    with pytest.raises(ValueError) as torch_error:
        torch_pytree.tree_map(lambda x, y: x, first, second)
    with pytest.raises(ValueError) as error:
        pytree.tree_map(lambda x, y: x, first, second)
    assert str(error.value).split(";")[0] == str(torch_error.value).split(";")[0]


@pytest.mark.parametrize(
    "first, second",
    [
        ({"a": 1, "b": 2}, collections.OrderedDict(b=3, a=4)),
        (collections.defaultdict(int, {"a": 1}), {"a": 2}),
        (collections.deque([1], maxlen=2), collections.deque([5], maxlen=3)),
    ],
    ids=["dict-ordereddict", "defaultdict-dict", "deque-maxlen"],
)
def test_tree_map_accepts_what_torch_accepts(first, second):
    def f(x, y):
        return (x, y)

    assert pytree.tree_map(f, first, second) == torch_pytree.tree_map(f, first, second)


def test_unflatten_errors_match_torch():
    spec = pytree.tree_structure([1, 2])
    with pytest.raises(ValueError, match="has length 3 but the spec refers to a pytree that holds"):
        pytree.tree_unflatten([1, 2, 3], spec)
    with pytest.raises(ValueError):
        torch_pytree.tree_unflatten([1, 2, 3], torch_pytree.tree_structure([1, 2]))
    with pytest.raises(TypeError, match="treespec"):
        pytree.tree_unflatten([1], 5)
    with pytest.raises(TypeError):
        torch_pytree.tree_unflatten([1], 5)


def test_is_leaf_stops_descent():
    tree = [1, [2, 3], {"a": [4, 5]}]

    def pairs(x):
        return isinstance(x, list) and len(x) == 2

    assert pytree.tree_leaves(tree, is_leaf=pairs) == torch_pytree.tree_leaves(tree, is_leaf=pairs)
    leaves, spec = pytree.tree_flatten(tree, is_leaf=pairs)
    assert repr(spec) == repr(torch_pytree.tree_flatten(tree, is_leaf=pairs)[1])
    assert pytree.tree_unflatten(leaves, spec) == tree
    assert pytree.tree_map(repr, tree, is_leaf=pairs) == torch_pytree.tree_map(
        repr, tree, is_leaf=pairs
    )


@pytest.mark.parametrize(
    "selector",
    [int, (int, str), int | str, lambda x: isinstance(x, float)],
    ids=["type", "tuple", "union", "predicate"],
)
def test_tree_map_only_matches_torch(selector):
    tree = [1, 2.0, "a", (3, {"k": 4.5})]

    def double(x):
        return x * 2

    assert pytree.tree_map_only(selector, double, tree) == torch_pytree.tree_map_only(
        selector, double, tree
    )


def test_tree_all_any_match_torch():
    tree = {"a": [1, 2], "b": (3, -1), "c": "text"}
    for fn, only in [
        ("tree_all", lambda x: isinstance(x, str) or x > 0),
        ("tree_any", lambda x: isinstance(x, int) and x < 0),
        ("tree_all", lambda x: isinstance(x, str) or x > -5),
    ]:
        assert getattr(pytree, fn)(only, tree) == getattr(torch_pytree, fn)(only, tree)
    positive = lambda x: x > 0  # noqa: E731
    assert pytree.tree_all_only(int, positive, tree) == torch_pytree.tree_all_only(
        int, positive, tree
    )
    assert pytree.tree_any_only(int, positive, tree) == torch_pytree.tree_any_only(
        int, positive, tree
    )


def test_tree_map_in_place_calls_in_leaf_order():
    seen, torch_seen = [], []
    tree = {"b": [1, 2], "a": (3,)}
    assert pytree.tree_map_(seen.append, tree) is tree
    torch_pytree.tree_map_(torch_seen.append, tree)
    assert seen == torch_seen


def test_paths_match_torch():
    tree = {"a": [1, (2, Point(3, 4))], "b": collections.OrderedDict(c=5)}
    keyed, spec = pytree.tree_flatten_with_path(tree)
    torch_keyed, torch_spec = torch_pytree.tree_flatten_with_path(tree)
    assert [(pytree.keystr(k), v) for k, v in keyed] == [
        (torch_pytree.keystr(k), v) for k, v in torch_keyed
    ]
    assert repr(spec) == repr(torch_spec)
    for path, leaf in keyed:
        assert pytree.key_get(tree, path) == leaf
    shown = pytree.tree_map_with_path(lambda kp, x: pytree.keystr(kp), tree)
    assert shown == torch_pytree.tree_map_with_path(lambda kp, x: torch_pytree.keystr(kp), tree)


class Box:
    def __init__(self, content, label):
        self.content = content
        self.label = label

    def __eq__(self, other):
        return isinstance(other, Box) and (self.content, self.label) == (other.content, other.label)

    def __repr__(self):  # the same in every process: test ids are built from it
        return f"Box({self.content!r}, {self.label!r})"


def _register(module):
    module.register_pytree_node(
        Box,
        lambda b: ([b.content], b.label),
        lambda values, label: Box(values[0], label),
        serialized_type_name="tests.Box",
        flatten_with_keys_fn=lambda b: ([(module.GetAttrKey("content"), b.content)], b.label),
    )


@pytest.fixture
def box_registered():
    _register(pytree)
    _register(torch_pytree)
    yield
    pytree._deregister_pytree_node(Box)
    torch_pytree._deregister_pytree_node(Box)


def test_registered_class_is_a_node(box_registered):
    tree = [Box([1, 2], "tag"), 3]
    leaves, spec = pytree.tree_flatten(tree)
    torch_leaves, torch_spec = torch_pytree.tree_flatten(tree)
    assert leaves == torch_leaves == [1, 2, 3]
    assert repr(spec) == repr(torch_spec)
    assert pytree.tree_unflatten(leaves, spec) == tree
    assert Box in pytree.SUPPORTED_NODES
    keyed = [(pytree.keystr(k), v) for k, v in pytree.tree_leaves_with_path(tree)]
    torch_keyed = [(torch_pytree.keystr(k), v) for k, v in torch_pytree.tree_leaves_with_path(tree)]
    assert keyed == torch_keyed
    with pytest.raises(ValueError, match="already registered"):
        _register(pytree)


@pytest.mark.parametrize(
    "tree",
    [t for t in _trees() if "Point(" not in repr(t)] + [[Box(1, "a"), {"k": Box((2,), "b")}]],
    ids=repr,
)
def test_treespec_dumps_matches_torch(tree, box_registered):
    text = pytree.treespec_dumps(pytree.tree_structure(tree))
    assert text == torch_pytree.treespec_dumps(torch_pytree.tree_structure(tree))
    spec = pytree.treespec_loads(text)
    assert spec == pytree.tree_structure(tree)
    assert repr(spec) == repr(torch_pytree.treespec_loads(text))


def test_treespec_dumps_errors_match_torch():
    class Unnamed:
        pass

    for module in (pytree, torch_pytree):
        module.register_pytree_node(Unnamed, lambda u: ([], None), lambda values, c: Unnamed())
        try:
            with pytest.raises(NotImplementedError, match="serialized_type_name"):
                module.treespec_dumps(module.tree_structure([Unnamed()]))
        finally:
            module._deregister_pytree_node(Unnamed)
        with pytest.raises(NotImplementedError, match="_register_namedtuple"):
            module.treespec_dumps(module.tree_structure(Point(1, 2)))
        with pytest.raises(ValueError, match="Unknown protocol 2"):
            module.treespec_loads("[2, {}]")


def test_registered_namedtuple_serializes_like_torch():
    Pair = collections.namedtuple("Pair", "a b")
    pytree._register_namedtuple(Pair, serialized_type_name="tests.Pair")
    torch_pytree._register_namedtuple(Pair, serialized_type_name="tests.Pair")
    tree = [Pair(1, {"x": 2})]
    text = pytree.treespec_dumps(pytree.tree_structure(tree))
    assert text == torch_pytree.treespec_dumps(torch_pytree.tree_structure(tree))
    assert pytree.treespec_loads(text).unflatten([5, 6]) == [Pair(5, {"x": 6})]


def test_leaf_spec():
    leaf = pytree.LeafSpec()
    assert leaf.is_leaf() and leaf.num_leaves == 1 and repr(leaf) == "*"
    assert pytree.tree_structure(7) == leaf
    spec = pytree.TreeSpec(list, None, [pytree.LeafSpec(), pytree.LeafSpec()])
    assert spec.unflatten([3, 4]) == [3, 4]
    assert spec == pytree.tree_structure([0, 0])


def test_namedtuple_detection_matches_torch():
    for obj in [Point, Point(1, 2), (1, 2), tuple, {"a": 1}]:
        assert pytree.is_namedtuple(obj) == torch_pytree.is_namedtuple(obj)
        assert pytree.is_namedtuple_instance(obj) == torch_pytree.is_namedtuple_instance(obj)
