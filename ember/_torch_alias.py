"""Make ``import torch`` and ``import torchvision`` resolve to ember (used by ``ember run``).

A meta-path finder maps ``torch.X`` to ``ember.X`` (and ``torchvision.X`` to ``ember.vision.X``)
and hands out alias modules. An alias module's ``__dict__`` holds the ember module's own
objects (``torch.nn.Linear is ember.nn.Linear``), with each ember submodule replaced by its
alias, so code that lists ``torchvision.models.__dict__`` sees ember's models and
``torch.cuda.X`` stays inside the alias. Assigning an attribute on an alias sets it on the ember
module too (``torch.backends.cudnn.benchmark = True`` reaches ember).

A name ember lacks fails where the script uses it, naming the script's line:
``NotImplementedError: ember does not implement torch.X yet``. That error is also an
AttributeError when read as an attribute (``hasattr`` stays False) and an ImportError when
imported (``import torch.X`` or ``from torch.Y import X``), so a library's ``try: import ...
except ImportError`` fallback still works.
"""

import atexit
import dis
import importlib
import importlib.abc
import importlib.util
import os
import shutil
import sys
import tempfile
import types

_ROOTS = {"torch": "ember", "torchvision": "ember.vision"}

# Module-level dunders an alias shares with its ember module; other names starting with an
# underscore are ember's private ones, found on first use but not listed in ``__dict__``.
_SHARED_DUNDERS = ("__all__", "__version__")

_IMPORT_FROM = dis.opmap["IMPORT_FROM"]

# Holds ``torch`` and ``torchvision`` packages that install the alias in child processes.
BOOTSTRAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli", "alias_bootstrap")


class NotImplementedAttribute(NotImplementedError, AttributeError):
    """A torch name ember lacks, read as an attribute; an AttributeError, so hasattr() is False."""


class NotImplementedImport(NotImplementedError, ImportError):
    """A torch name ember lacks, imported with ``from torch.X import name``."""

    def __init__(self, message, name):
        ImportError.__init__(self, message, name=name)


class NotImplementedModule(NotImplementedError, ModuleNotFoundError):
    """A torch submodule ember lacks, imported with ``import torch.X``."""

    def __init__(self, message, name):
        ModuleNotFoundError.__init__(self, message, name=name)


def _ember_name(fullname):
    root, _, rest = fullname.partition(".")
    return _ROOTS[root] + ("." + rest if rest else "")


def _caller_location():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if "/ember/" not in name.replace("\\", "/") and "importlib" not in name:
            return f"{name}, line {frame.f_lineno}"
        frame = frame.f_back
    return "unknown location"


def _missing(torch_name):
    return f"ember does not implement {torch_name} yet ({_caller_location()})"


def _is_alias_child(target, key, value):
    """True when ``value`` is the ember submodule ``target.key`` (not a module it imported)."""
    return isinstance(value, types.ModuleType) and value.__name__ == f"{target.__name__}.{key}"


class AliasModule(types.ModuleType):
    """``torch.X`` seen through ember: a copy of ``ember.X``'s namespace taken at import.
    Names added to ``ember.X`` later are found on first use and assignments reach ``ember.X``;
    a name that ember's own code rebinds later keeps its first value here."""

    def __init__(self, name, target):
        super().__init__(name, target.__doc__)
        object.__setattr__(self, "_ember_target", target)
        namespace = {
            k: v for k, v in vars(target).items() if not k.startswith("_") or k in _SHARED_DUNDERS
        }
        namespace.update(__file__=getattr(target, "__file__", None), __path__=[])
        vars(self).update(namespace)

    def _adopt_submodules(self):
        """Replace each ember submodule in the namespace by its alias (``torch.nn`` for
        ``ember.nn``); importing the alias stores it here as the import system does."""
        target = object.__getattribute__(self, "_ember_target")
        for key, value in list(vars(self).items()):
            if _is_alias_child(target, key, value):
                importlib.import_module(f"{self.__name__}.{key}")

    def __getattr__(self, attr):
        target = object.__getattribute__(self, "_ember_target")
        if hasattr(target, attr):
            value = getattr(target, attr)
            if _is_alias_child(target, attr, value):
                return importlib.import_module(f"{self.__name__}.{attr}")
            vars(self)[attr] = value
            return value
        if not attr.startswith("__") and hasattr(target, "__path__"):
            if importlib.util.find_spec(f"{target.__name__}.{attr}") is not None:
                return importlib.import_module(f"{self.__name__}.{attr}")
        name = f"{self.__name__}.{attr}"
        frame = sys._getframe(1)
        if frame.f_code.co_code[frame.f_lasti] == _IMPORT_FROM:
            # ``from torch.X import attr``: Python would turn an AttributeError into its own
            # "cannot import name" message, losing ember's.
            raise NotImplementedImport(_missing(name), name=self.__name__)
        raise NotImplementedAttribute(_missing(name))

    def __setattr__(self, attr, value):
        super().__setattr__(attr, value)
        if not attr.startswith("__") and not isinstance(value, AliasModule):
            setattr(object.__getattribute__(self, "_ember_target"), attr, value)

    def __delattr__(self, attr):
        super().__delattr__(attr)
        target = object.__getattribute__(self, "_ember_target")
        if not attr.startswith("__") and hasattr(target, attr):
            delattr(target, attr)


class _Loader(importlib.abc.Loader):
    def __init__(self, target_name):
        self.target_name = target_name

    def create_module(self, spec):
        try:
            target = importlib.import_module(self.target_name)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith(self.target_name.split(".")[0]):
                raise NotImplementedModule(_missing(spec.name), name=spec.name) from None
            raise
        return AliasModule(spec.name, target)

    def exec_module(self, module):
        module._adopt_submodules()


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in _ROOTS:
            return None
        target = _ember_name(fullname)
        return importlib.util.spec_from_loader(fullname, _Loader(target), origin=target)


def install():
    """Route later imports of torch and torchvision to ember, and make ``importlib.metadata``
    report them installed at ember's torch-compatible versions."""
    from ember import _dtype, _torch_distribution

    _torch_distribution.install()
    _dtype.repr_package = "torch"
    if not any(isinstance(f, TorchAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TorchAliasFinder())


def install_for_child_processes():
    """Make Python processes started from this one resolve torch to ember too: multiprocessing's
    spawn and forkserver children (they receive this ``sys.path``) and any other Python child
    (it inherits ``PYTHONPATH``); see ``ember/cli/alias_bootstrap``. A temporary folder on the
    same paths holds torch's and torchvision's installed-package metadata, which children read
    before they import torch; it is removed when this process exits."""
    from ember import _torch_distribution

    metadata_dir = tempfile.mkdtemp(prefix="ember-run-metadata-")
    atexit.register(shutil.rmtree, metadata_dir, ignore_errors=True)
    _torch_distribution.write_metadata_folders(metadata_dir)
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for folder in (metadata_dir, BOOTSTRAP_DIR):
        if folder not in sys.path:
            sys.path.insert(0, folder)
        if folder not in inherited:
            inherited.insert(0, folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(inherited)
