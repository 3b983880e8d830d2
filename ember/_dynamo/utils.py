"""torch._dynamo.utils.compile_times: how long ``ember.compile`` spent compiling.

Each compilation (one per guard miss) records the seconds spent capturing the graph,
running it the first time (which also records what each node computes) and fusing its
elementwise chains, under the compiled callable's name.
"""

__all__ = ["compile_times", "record_compile", "reset_compile_times"]

_PHASES = ("capture", "first_run", "fusion")
_records = {}  # name -> list of {phase: seconds, "kernels": count}


def record_compile(name, **phases):
    _records.setdefault(name, []).append(phases)


def reset_compile_times():
    _records.clear()


def compile_times(repr="str", aggregate=False):
    """The compile times so far. ``repr="str"``: a table, one row per compiled callable with
    the seconds of each phase (summed over its compilations when ``aggregate``, else listed);
    ``repr="csv"``: ``(header, rows)`` with one row per compilation."""
    if repr == "csv":
        header = ["name", *_PHASES, "kernels"]
        rows = [
            [name, *[r[p] for p in _PHASES], r["kernels"]]
            for name, rs in _records.items()
            for r in rs
        ]
        return header, rows
    if repr != "str":
        raise ValueError(f"compile_times: repr must be 'str' or 'csv', got {repr!r}")
    lines = ["ember.compile times (seconds): capture, first_run, fusion, compilations"]
    for name, rs in _records.items():
        if aggregate:
            sums = [f"{sum(r[p] for r in rs):.4f}" for p in _PHASES]
        else:
            sums = [",".join(f"{r[p]:.4f}" for r in rs) for p in _PHASES]
        lines.append(f"{name}: {' '.join(sums)} {len(rs)}")
    return "\n".join(lines)
