"""CUDA streams, events and graphs: the names exist (libraries refer to them in annotations and
``isinstance`` checks); making one needs a GPU, so it raises as PyTorch's CPU build does."""


def _no_gpu(name):
    return AssertionError(
        f"ember.cuda.{name}: ember has no GPU backend yet (ember.cuda.is_available() is False)"
    )


class _NeedsGpu:
    def __init__(self, *args, **kwargs):
        raise _no_gpu(type(self).__name__)


class Stream(_NeedsGpu):
    pass


class ExternalStream(Stream):
    pass


class Event(_NeedsGpu):
    pass


class CUDAGraph(_NeedsGpu):
    pass


class StreamContext:
    """``with torch.cuda.stream(s)``; with no stream (None) it does nothing, as in PyTorch."""

    def __init__(self, stream):
        if stream is not None:
            raise _no_gpu("StreamContext")
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        return False


def stream(stream):
    return StreamContext(stream)


class graph(_NeedsGpu):
    pass


def current_stream(device=None):
    raise _no_gpu("current_stream")


def default_stream(device=None):
    raise _no_gpu("default_stream")
