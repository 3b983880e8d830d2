"""The errors ``ember.load`` raises for files it cannot or will not read."""

import pickle

__all__ = ["CheckpointError", "UnsafeCheckpointError"]


class CheckpointError(RuntimeError):
    """The file is not a checkpoint ember can read: truncated, corrupted or of unknown format."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """``weights_only`` loading met a global, call or attribute write outside what PyTorch's
    weights_only admits (plus ``add_safe_globals``); nothing from the file was run."""
