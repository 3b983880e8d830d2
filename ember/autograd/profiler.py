"""``torch.autograd.profiler``: where the time of a block of ember code goes, op by op.

Inside ``with profile() as prof:`` every op (each ``Function.apply``, forward or inside a
backward) and every ``record_function`` range is timed with the wall clock; nested events
count towards their parent's total but not its self time. ``prof.key_averages().table()``
prints PyTorch's table (self and total CPU time, call counts); ``export_chrome_trace`` writes
the events for chrome://tracing or Perfetto. Only CPU time is measured: ember has no GPU.
"""

import json
import time

from ember.autograd.function import PROFILER

__all__ = [
    "profile",
    "record_function",
    "emit_nvtx",
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
]


class FunctionEvent:
    def __init__(self, name, start_us, input_shapes):
        self.name = self.key = name
        self.time_range_start = start_us
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = input_shapes
        self.count = 1

    @property
    def cpu_time(self):
        return self.cpu_time_total


class FunctionEventAvg:
    """Events with the same name (and input shapes, when grouped by them) added together."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0

    def add(self, event):
        self.count += 1
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self):
        return self.cpu_time_total / max(self.count, 1)


def _format_us(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class EventList(list):
    def key_averages(self, group_by_input_shape=False):
        groups = {}
        for e in self:
            shapes = str(e.input_shapes) if group_by_input_shape else None
            key = (e.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(e.key, e.input_shapes if shapes else None)
            groups[key].add(e)
        return EventList(groups.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for e in self:
            total.count += e.count
            total.cpu_time_total += e.cpu_time_total
            total.self_cpu_time_total += e.self_cpu_time_total
        return total

    def table(self, sort_by=None, row_limit=100, header=None, top_level_events_only=False):
        """PyTorch's profiler table: one row per event key, sorted by ``sort_by``."""
        rows = list(self)
        if sort_by is not None:
            attr = sort_by.replace("self_cpu_time_total", "self_cpu_time_total")
            if attr not in ("cpu_time_total", "self_cpu_time_total", "count", "cpu_time"):
                raise ValueError(f"table: cannot sort by {sort_by!r}")
            rows.sort(key=lambda e: getattr(e, attr), reverse=True)
        rows = rows[:row_limit] if row_limit and row_limit > 0 else rows
        self_total = sum(e.self_cpu_time_total for e in self) or 1.0
        width = max([len("Name")] + [len(e.key) for e in rows]) + 2
        columns = ("Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                   "# of Calls")  # fmt: skip
        line = "-" * (width + 15 * len(columns))
        out = [line, "Name".ljust(width) + "".join(c.rjust(15) for c in columns), line]
        for e in rows:
            cells = (f"{100 * e.self_cpu_time_total / self_total:.2f}%",
                     _format_us(e.self_cpu_time_total),
                     f"{100 * e.cpu_time_total / self_total:.2f}%", _format_us(e.cpu_time_total),
                     _format_us(e.cpu_time_total / max(e.count, 1)), str(e.count))  # fmt: skip
            out.append(e.key.ljust(width) + "".join(c.rjust(15) for c in cells))
        out += [line, f"Self CPU time total: {_format_us(self_total)}", ""]
        return (f"{header}\n" if header else "") + "\n".join(out)

    def export_chrome_trace(self, path):
        events = [
            {"name": e.name, "ph": "X", "ts": e.time_range_start, "dur": e.cpu_time_total,
             "pid": 0, "tid": 0, "cat": "cpu_op"}
            for e in self
        ]  # fmt: skip
        with open(path, "w") as f:
            json.dump({"traceEvents": events}, f)


class _Recorder:
    """Times ops and ranges, keeping a stack so that self time excludes nested events."""

    def __init__(self, record_shapes):
        self.events = EventList()
        self.stack = []
        self.entered = None
        self.record_shapes = record_shapes
        self.origin = time.perf_counter()

    def open(self, name, shapes=None):
        event = FunctionEvent(name, (time.perf_counter() - self.origin) * 1e6, shapes)
        self.stack.append((event, time.perf_counter(), [0.0]))
        return event

    def close(self):
        event, start, children = self.stack.pop()
        elapsed = (time.perf_counter() - start) * 1e6
        event.cpu_time_total = elapsed
        event.self_cpu_time_total = elapsed - children[0]
        if self.stack:
            self.stack[-1][2][0] += elapsed
        self.events.append(event)

    def record(self, cls, args, kwargs):
        shapes = None
        if self.record_shapes:
            shapes = [list(a.shape) if hasattr(a, "shape") else [] for a in args]
        self.open(f"ember::{cls.__name__}", shapes)
        try:
            self.entered = cls
            return cls.apply(*args, **kwargs)
        finally:
            self.entered = None
            self.close()


class profile:
    """Record every op and ``record_function`` range run inside the block."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None):  # fmt: skip
        if use_cuda or use_device not in (None, "cpu"):
            raise AssertionError("ember's profiler measures the CPU only (ember has no GPU)")
        self.enabled, self.record_shapes = enabled, record_shapes
        self._recorder = None
        self._previous = None
        self.function_events = None

    def __enter__(self):
        if self.enabled:
            self._previous = PROFILER[0]
            self._recorder = _Recorder(self.record_shapes)
            PROFILER[0] = self._recorder
        return self

    def __exit__(self, *exc):
        if self.enabled:
            PROFILER[0] = self._previous
            self.function_events = self._recorder.events
        return False

    def _events(self):
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.function_events

    def events(self):
        return self._events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._events().key_averages(group_by_input_shape)

    def total_average(self):
        return self._events().total_average()

    def table(self, sort_by=None, row_limit=100, **kwargs):
        return self._events().table(sort_by=sort_by, row_limit=row_limit)

    def export_chrome_trace(self, path):
        self._events().export_chrome_trace(path)

    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self._events())

    def __str__(self):
        return self.table()


class record_function:
    """A named range in the profile (a context manager, or a decorator)."""

    def __init__(self, name, args=None):
        self.name = name

    def __enter__(self):
        recorder = PROFILER[0]
        self._recorder = recorder
        if recorder is not None:
            recorder.open(self.name)
        return self

    def __exit__(self, *exc):
        if self._recorder is not None:
            self._recorder.close()
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        return wrapped


class emit_nvtx:
    """NVTX ranges mark ops for NVIDIA's profilers; ember has no GPU, so entering fails."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            raise RuntimeError(
                "emit_nvtx: NVTX ranges need CUDA, and ember runs on the CPU only; "
                "use torch.autograd.profiler.profile instead"
            )
        return self

    def __exit__(self, *exc):
        return False
