"""One pipe per DataLoader worker for its results, read in a way a dead worker cannot block.

A worker process may be killed at any moment, also halfway through writing a result. A
blocking read of a length-prefixed message would then wait forever for bytes that never
come (the pipe is not closed while another process still holds its write end), and a lock
shared by all workers would stay held by the dead one. So each worker writes to a pipe of
its own, and the main process reads its end without blocking: ``ResultReceiver`` keeps a
half-read message between reads and only hands out complete ones, while the main process
watches the pipes and the workers' process sentinels together (with
``multiprocessing.connection.wait``) and learns of a death as soon as it happens.

A message is an 8-byte little-endian length followed by that many bytes. In the worker,
``ResultSender`` writes from a background thread, so that the worker goes on loading its
next batch while the main process is busy elsewhere (as ``multiprocessing.Queue`` does).
"""

import os
import queue
import struct
import threading

__all__ = ["ResultSender", "ResultReceiver"]

_HEADER = struct.Struct("<Q")


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class ResultSender:
    """The worker's end: ``send`` queues a payload and returns at once."""

    def __init__(self, conn):
        self._conn = conn  # owns the file descriptor
        self._pending = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._feed, name="ember-dataloader-results")
        self._thread.daemon = True  # an abandoned write must not keep the process alive
        self._thread.start()

    def _feed(self):
        fd = self._conn.fileno()
        while (payload := self._pending.get()) is not None:
            try:
                _write_all(fd, _HEADER.pack(len(payload)))
                _write_all(fd, payload)
            except OSError:
                return  # the main process closed its end: nobody reads any more

    def send(self, payload):
        self._pending.put(payload)

    def flush(self):
        """Wait until every queued payload has been written."""
        self._pending.put(None)
        self._thread.join()


class ResultReceiver:
    """The main process's end of one worker's pipe; never blocks."""

    def __init__(self, conn):
        self._conn = conn  # owns the file descriptor
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)
        self._header = bytearray()
        self._body = None  # the message being read, once its length is known
        self._filled = 0
        self.closed_by_writer = False

    def fileno(self):
        return self._fd

    def read_available(self):
        """The messages completed by what the pipe holds now (``bytearray``s, in order).

        Sets ``closed_by_writer`` when the pipe reports end of file: the worker is gone,
        and a message it left half-written stays incomplete.
        """
        done = []
        while not self.closed_by_writer:
            try:
                if self._body is None:
                    got = os.read(self._fd, _HEADER.size - len(self._header))
                    self._header += got
                    n = len(got)
                else:
                    n = os.readv(self._fd, [memoryview(self._body)[self._filled :]])
                    self._filled += n
            except BlockingIOError:
                break
            if n == 0:
                self.closed_by_writer = True
                break
            if self._body is None and len(self._header) == _HEADER.size:
                (size,) = _HEADER.unpack(self._header)
                self._header.clear()
                self._body, self._filled = bytearray(size), 0
            if self._body is not None and self._filled == len(self._body):
                done.append(self._body)
                self._body = None
        return done

    def close(self):
        self._conn.close()
