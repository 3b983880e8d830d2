"""``importlib.metadata`` answers for torch and torchvision while ``ember run`` makes them ember.

Libraries check the installed torch before they use it: ``importlib.metadata.version("torch")``
compared with ``packaging``'s ``Version``, ``RequirementCache("torch>=2.1")``, or
``packages_distributions()``. A finder on ``sys.meta_path``, placed before the path-based one,
answers those queries with ``torch`` and ``torchvision`` distributions at ember's versions, so
the checks see the PyTorch release ember follows and never a real torch installed beside it.

Installed with the alias only; plain ``import ember`` does not claim to be torch. Processes a
script starts find the same answers, before they import torch, in ``*.dist-info`` folders that
``write_metadata_folders`` puts in a folder on their ``PYTHONPATH``.
"""

import importlib.metadata
import os
import pathlib
import re
import sys

import ember

# torchvision's release that goes with PyTorch 2.13.
TORCHVISION_RELEASE = "0.28.0"

_EMBER_PACKAGE = os.path.dirname(os.path.abspath(ember.__file__))
_SITE = os.path.dirname(_EMBER_PACKAGE)


def ember_release():
    """ember's own release, the local part of ``ember.__version__`` ("2.13.0+ember.0.1.0")."""
    return ember.__version__.partition("+ember.")[2]


def versions():
    """The version each stand-in distribution reports."""
    return {
        "torch": ember.__version__,
        "torchvision": f"{TORCHVISION_RELEASE}+ember.{ember_release()}",
    }


def metadata_text(name):
    """The METADATA file of the stand-in distribution ``name`` (core metadata 2.1)."""
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {versions()[name]}\n"
        f"Summary: ember answering for {name} under `ember run`\n"
        "License: MIT\n"
        "Requires-Python: >=3.10\n"
        f"Requires-Dist: ember=={ember_release()}\n"
    )


def write_metadata_folders(directory):
    """Write ``torch.dist-info`` and ``torchvision.dist-info`` into ``directory``, for Python's
    path-based distribution finder in processes that have no ember finder installed."""
    for name in versions():
        folder = os.path.join(directory, f"{name}.dist-info")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "METADATA"), "w") as f:
            f.write(metadata_text(name))
        with open(os.path.join(folder, "top_level.txt"), "w") as f:
            f.write(name + "\n")


def _normalize(name):
    return re.sub(r"[-_.]+", "_", name).lower()


class EmberAsTorchDistribution(importlib.metadata.Distribution):
    """torch (or torchvision) as seen through ember: its files are ember's own."""

    def __init__(self, name):
        self._name = name

    def read_text(self, filename):
        if filename == "METADATA":
            return metadata_text(self._name)
        if filename == "top_level.txt":
            return self._name + "\n"
        if filename == "RECORD":
            return self._record()
        return None

    def locate_file(self, path):
        return pathlib.Path(_SITE, path)

    def _record(self):
        """One line per file of the ember package, relative to the folder that holds it."""
        lines = []
        for folder, subfolders, names in os.walk(_EMBER_PACKAGE):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for n in sorted(names):
                relative = os.path.relpath(os.path.join(folder, n), _SITE)
                lines.append(relative.replace(os.sep, "/") + ",,")
        return "\n".join(lines) + "\n"


class EmberAsTorchFinder(importlib.metadata.DistributionFinder):
    """Answers ``importlib.metadata`` queries for torch and torchvision with ember."""

    def find_spec(self, fullname, path=None, target=None):
        return None  # finds distributions only; the alias finder handles imports

    def find_distributions(self, context=None):
        context = context or importlib.metadata.DistributionFinder.Context()
        if "path" in vars(context):
            return  # a search of named folders, not of the running program's packages
        wanted = None if context.name is None else _normalize(context.name)
        for name in versions():
            if wanted is None or wanted == name:
                yield EmberAsTorchDistribution(name)


def install():
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, EmberAsTorchFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, EmberAsTorchFinder())
