"""The ``ember`` command."""
