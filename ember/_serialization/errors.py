"""The errors ``ember.load`` raises for files it cannot or will not read."""

import pickle

__all__ = ["CheckpointError", "UnsafeCheckpointError"]


class CheckpointError(RuntimeError):
    """The file is not a checkpoint ember can read: truncated, corrupted or of unknown format."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A PyTorch checkpoint asks for a Python global outside the short list a tensor checkpoint
    needs; nothing from the file was run."""
