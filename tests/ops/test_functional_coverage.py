"""Every public function of ember.nn.functional is called by some op-table row, or is named
in ``EXCLUDED`` with the reason it has none.

A function counts as covered when a row of a tests/ops/test_rows_nn_*.py table calls it
directly (a call made inside another function of the module does not count: upsample
calling interpolate does not cover interpolate).
"""

import functools
import importlib
import inspect
import pathlib

import ember
import ember.nn.functional as EF
from tests.ops.optable import _make

EXCLUDED = {
    # name: why it has no row
}


def public_functions():
    return sorted(
        name
        for name, value in vars(EF).items()
        if not name.startswith("_") and callable(value) and not inspect.isclass(value)
    )


def nn_rows():
    rows = []
    for path in sorted(pathlib.Path(__file__).parent.glob("test_rows_nn_*.py")):
        rows += importlib.import_module(f"tests.ops.{path.stem}").ROWS
    return rows


def called_functions(rows, monkeypatch):
    """The functions of ember.nn.functional that the rows call directly, on their first
    sample in float64."""
    called, depth = set(), [0]

    def recording(name, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if depth[0] == 0:
                called.add(name)
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1

        return run

    for name in public_functions():
        monkeypatch.setattr(EF, name, recording(name, getattr(EF, name)))
    for row in rows:
        row.fn(ember, *_make(ember, row.inputs[0], "float64", row, False))
    return called


def test_every_public_function_has_a_row_or_a_reason(monkeypatch):
    called = called_functions(nn_rows(), monkeypatch)
    public = public_functions()
    missing = [n for n in public if n not in called and n not in EXCLUDED]
    assert not missing, f"ember.nn.functional functions without an op-table row: {missing}"
    stale = [n for n in EXCLUDED if n not in public or n in called]
    assert not stale, f"EXCLUDED names that are gone or now have a row: {stale}"
