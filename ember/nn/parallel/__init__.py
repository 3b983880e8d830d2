"""Data parallelism: DataParallel (one device: runs the module as is) and
DistributedDataParallel (one process per replica, over ember.distributed)."""

from ember.nn.parallel.data_parallel import DataParallel
from ember.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
