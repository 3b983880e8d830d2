"""torch._dynamo.exc: the errors ``ember.compile`` raises."""

__all__ = ["TorchDynamoException", "Unsupported", "InvalidBackend"]


class TorchDynamoException(RuntimeError):
    pass


class Unsupported(TorchDynamoException):
    """A callable compiled with ``fullgraph=True`` cannot be captured as one graph."""


class InvalidBackend(TorchDynamoException):
    def __init__(self, name):
        super().__init__(f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()`")
