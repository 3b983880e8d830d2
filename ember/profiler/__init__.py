"""``torch.profiler``: `profile` with activities, a step schedule and trace handlers, on top of
``ember.autograd.profiler`` (CPU time of every op and ``record_function`` range)."""

import enum
import os
import socket
import time

from ember.autograd import profiler as _autograd_profiler
from ember.autograd.profiler import record_function

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "tensorboard_trace_handler", "kineto_available"]  # fmt: skip


def kineto_available():
    """Whether PyTorch's Kineto tracer is built in; ember's profiler is its own."""
    return False


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1
    XPU = 2
    MTIA = 3


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """Which action each step takes: skip, then cycles of wait, warmup and active steps; the
    last active step of a cycle saves the trace. ``repeat=0`` cycles forever."""

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD_AND_SAVE if at == cycle - 1 else ProfilerAction.RECORD

    return action


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False):
    """An ``on_trace_ready`` that writes each saved trace as a Chrome trace file in ``dir_name``."""

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{name}.{int(time.time() * 1000)}.pt.trace.json")
        prof.export_chrome_trace(path)

    return handler


class profile:
    """Records the ops run inside the block (or, with ``schedule``, in its active steps)."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None):  # fmt: skip
        activities = set(activities or [ProfilerActivity.CPU])
        if activities - {ProfilerActivity.CPU}:
            raise AssertionError("ember's profiler measures the CPU only (ember has no GPU)")
        self.schedule, self.on_trace_ready = schedule, on_trace_ready
        self.record_shapes = record_shapes
        self.step_num = 0
        self._current = None
        self._finished = None

    def _start_recording(self):
        if self._current is None:
            self._current = _autograd_profiler.profile(record_shapes=self.record_shapes)
            self._current.__enter__()

    def _stop_recording(self, save):
        if self._current is not None:
            self._current.__exit__(None, None, None)
            self._finished, self._current = self._current, None
            if save and self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def _apply(self, action):
        if action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._start_recording()
        else:
            self._stop_recording(save=False)

    def start(self):
        self._apply(ProfilerAction.RECORD if self.schedule is None else self.schedule(0))

    def stop(self):
        self._stop_recording(save=True)

    def step(self):
        """Mark the end of a training step: the schedule decides what the next one does."""
        if self.schedule is None:
            return
        if self.schedule(self.step_num) == ProfilerAction.RECORD_AND_SAVE:
            self._stop_recording(save=True)
        self.step_num += 1
        self._apply(self.schedule(self.step_num))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _profile(self):
        if self._finished is None:
            raise RuntimeError("profile: no trace has been recorded yet")
        return self._finished

    def events(self):
        return self._profile().events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        return self._profile().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path):
        self._profile().export_chrome_trace(path)
