"""Stands in for ``torch`` in a process started by a program under ``ember run``: installs
ember's import hook, then replaces itself with the alias of ember (see the parent folder)."""

import importlib
import sys

from ember import _torch_alias

_torch_alias.install()
sys.modules.pop("torch", None)
sys.modules["torch"] = importlib.import_module("torch")
