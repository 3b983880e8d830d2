"""Data parallelism: DataParallel (one device: runs the module as is)."""

from ember.nn.parallel.data_parallel import DataParallel

__all__ = ["DataParallel"]
