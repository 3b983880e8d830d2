"""Work handles: what a collective with ``async_op=True`` returns."""

from mpi4py import MPI

from ember.distributed.faults import wait_requests


class Work:
    """A started collective. ``wait()`` blocks until it completes (or times out).

    ``finish`` runs once after the MPI requests complete: it writes results that MPI
    produced in a staging buffer (non-contiguous tensors, half precision, averages) back into
    the caller's tensors.
    """

    def __init__(
        self, requests, group, opname, finish=None, result=None, statuses=None, number=None
    ):
        self._requests = list(requests)
        self._statuses = statuses
        self._group, self._opname = group, opname
        self._finish = finish
        self._result = result if result is not None else []
        self._done = not self._requests and finish is None
        self._exception = None
        self._number = number  # the collective's number on the group (None: not counted)

    def _complete(self):
        if self._done:
            return
        if self._finish is not None:
            self._finish()
            self._finish = None
        self._done = True

    def wait(self, timeout=None):
        """Block until the operation completes; raise if it failed or ``timeout`` passed."""
        if self._exception is not None:
            raise self._exception
        if not self._done:
            limit = self._group.timeout_seconds if timeout is None else _seconds(timeout)
            try:
                wait_requests(self._requests, limit, self._describe, self._statuses, self._absent)
            except Exception as e:
                self._exception = e
                raise
            self._complete()
        return True

    def is_completed(self):
        """Whether the operation has finished (without blocking)."""
        if not self._done and (
            not self._requests or MPI.Request.Testall(self._requests, self._statuses)
        ):
            self._complete()
        return self._done

    def is_success(self):
        return self.is_completed() and self._exception is None

    def exception(self):
        return self._exception

    def result(self):
        """The output tensors of the operation."""
        self.wait()
        return self._result

    def get_future(self):
        return Future(self)

    def synchronize(self):
        self.wait()

    def _describe(self):
        return f"{self._opname} on {self._group.describe()}"

    def _absent(self):
        return self._group.describe_absent(self._number)

    def __repr__(self):
        return f"<ember.distributed.Work {self._opname} completed={self._done}>"


class Future:
    """A small ``torch.futures.Future`` over a Work: ``wait()``, ``value()``, ``then()``."""

    def __init__(self, work, value=None, has_value=False):
        self._work = work
        self._value, self._has_value = value, has_value

    def wait(self):
        if self._work is not None:
            self._work.wait()
        return self.value()

    def value(self):
        return self._value if self._has_value else self._work.result()

    def done(self):
        return self._work is None or self._work.is_completed()

    def then(self, callback):
        """A Future whose value is ``callback(self)``, run once this one completes."""
        self.wait()
        return Future(None, callback(self), True)


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
