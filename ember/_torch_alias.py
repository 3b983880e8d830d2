"""Make ``import torch`` and ``import torchvision`` resolve to ember (used by ``ember run``).

A meta-path finder maps ``torch.X`` to ``ember.X`` (and ``torchvision.X`` to ``ember.vision.X``)
and hands out thin proxy modules: a name ember lacks fails where the script uses it, with
``NotImplementedError: ember does not implement torch.X yet`` and the script's line.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types

_ROOTS = {"torch": "ember", "torchvision": "ember.vision"}


class NotImplementedAttribute(NotImplementedError, AttributeError):
    """Raised for a torch name ember lacks; an AttributeError too, so hasattr() stays False."""


def _ember_name(fullname):
    root, _, rest = fullname.partition(".")
    target = _ROOTS[root] + ("." + rest if rest else "")
    return target


def _caller_location():
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if "/ember/" not in name.replace("\\", "/") and "importlib" not in name:
            return f"{name}, line {frame.f_lineno}"
        frame = frame.f_back
    return "unknown location"


class AliasModule(types.ModuleType):
    """``torch.X`` seen through ember: attribute reads go to the ember module."""

    def __init__(self, name, target):
        super().__init__(name)
        object.__setattr__(self, "_ember_target", target)
        self.__path__ = []
        self.__file__ = getattr(target, "__file__", None)
        self.__doc__ = target.__doc__

    def __getattr__(self, attr):
        target = object.__getattribute__(self, "_ember_target")
        try:
            return getattr(target, attr)
        except AttributeError:
            pass
        sub = f"{target.__name__}.{attr}"
        if importlib.util.find_spec(sub) is not None:
            return importlib.import_module(self.__name__ + "." + attr)
        raise NotImplementedAttribute(
            f"ember does not implement {self.__name__}.{attr} yet ({_caller_location()})"
        )

    def __dir__(self):
        return dir(object.__getattribute__(self, "_ember_target"))


class _Loader(importlib.abc.Loader):
    def __init__(self, target_name):
        self.target_name = target_name

    def create_module(self, spec):
        try:
            target = importlib.import_module(self.target_name)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith(self.target_name.split(".")[0]):
                torch_name = spec.name
                raise ModuleNotFoundError(
                    f"ember does not implement {torch_name} yet ({_caller_location()})",
                    name=torch_name,
                ) from None
            raise
        return AliasModule(spec.name, target)

    def exec_module(self, module):
        pass


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in _ROOTS:
            return None
        return importlib.util.spec_from_loader(fullname, _Loader(_ember_name(fullname)))


def install():
    """Route later imports of torch and torchvision to ember."""
    if not any(isinstance(f, TorchAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TorchAliasFinder())
