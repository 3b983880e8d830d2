"""The exception types of ``torch.distributed``."""


class DistError(RuntimeError):
    """An error in the distributed package."""


class DistBackendError(DistError):
    """A collective failed or timed out in the communication backend."""


class DistNetworkError(DistError):
    """Processes could not reach each other during rendezvous."""


class DistStoreError(DistError):
    """The rendezvous store failed or timed out."""
