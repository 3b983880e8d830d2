"""Pretrained-weights enums and torchvision's ``weights=`` / ``pretrained=`` builder interface.

ember never downloads: ``get_state_dict`` reads the checkpoint from the hub cache folder
(``ember.hub.get_dir()/checkpoints``, the file name being the last part of the URL) and the
error for a missing file names both the URL and that path. A torchvision checkpoint there is a
PyTorch file that ``ember.load`` reads as it is.
"""

import enum
import functools
import gzip
import warnings
from dataclasses import dataclass, field
from importlib import resources

__all__ = ["Weights", "WeightsEnum", "imagenet_categories", "imagenet_weights", "weights_builder"]


@dataclass(eq=False)
class Weights:
    """One set of pretrained weights: where it lives, its inference transforms, facts about it."""

    url: str
    transforms: object
    meta: dict = field(default_factory=dict)


class WeightsEnum(enum.Enum):
    """Base of ``ResNet18_Weights`` and the others; members are ``Weights`` values."""

    @classmethod
    def verify(cls, obj):
        """``obj`` as a member of this enum: a member, its name (``'DEFAULT'``), or None."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, str):
            name = obj.removeprefix(cls.__name__ + ".")
            if name not in cls.__members__:
                raise ValueError(f"{cls.__name__} has no weights named {name!r}; choose from "
                                 f"{', '.join(cls.__members__)}")  # fmt: skip
            return cls[name]
        raise TypeError(
            f"Invalid Weight class provided; expected {cls.__name__} but received "
            f"{type(obj).__name__}."
        )

    def get_state_dict(self, *args, **kwargs):
        from ember.hub import load_state_dict_from_url

        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self):
        return f"{type(self).__name__}.{self._name_}"

    @property
    def url(self):
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self):
        return self.value.meta


@functools.cache
def imagenet_categories():
    """The 1000 ImageNet-1K class names, in the order of the classifiers' outputs."""
    data = resources.files("ember.vision.models") / "data" / "imagenet_categories.csv.gz"
    return tuple(gzip.decompress(data.read_bytes()).decode("utf-8").splitlines())


def weights_builder(weights_enum, legacy_weights):
    """Give a builder ``build(weights, **kwargs)`` torchvision's interface.

    ``weights`` is a member of ``weights_enum``, its name, or None; ``pretrained=True`` (or
    False) still works, with torchvision's deprecation warnings, and means ``legacy_weights``.
    A leading positional int is ``num_classes``, as ember's own callers pass it.
    """

    def decorate(build):
        @functools.wraps(build)
        def builder(*args, weights=None, progress=True, **kwargs):
            if args and isinstance(args[0], int) and not isinstance(args[0], bool):
                if "num_classes" in kwargs:
                    raise TypeError(f"{build.__name__}() got multiple values for 'num_classes'")
                kwargs["num_classes"], args = args[0], args[1:]
            if args:
                raise TypeError(
                    f"{build.__name__}() takes weights and progress as keyword arguments only"
                )
            if "pretrained" in kwargs:
                weights = _from_pretrained(kwargs.pop("pretrained"), legacy_weights)
            weights = weights_enum.verify(weights)
            if weights is None:
                return build(**kwargs)
            categories = weights.meta["categories"]
            expected = None if categories is None else len(categories)
            if expected is not None and kwargs.setdefault("num_classes", expected) != expected:
                raise ValueError(
                    f"The parameter 'num_classes' expected value {expected} but got "
                    f"{kwargs['num_classes']} instead."
                )
            state = weights.get_state_dict(progress=progress, check_hash=True)
            model = build(**kwargs)
            model.load_state_dict(state)
            return model

        return builder

    return decorate


def _from_pretrained(pretrained, legacy_weights):
    warnings.warn(
        "The parameter 'pretrained' is deprecated since 0.13 and may be removed in the future, "
        "please use 'weights' instead.",
        UserWarning,
        stacklevel=3,
    )
    weights = legacy_weights if pretrained else None
    message = (
        "Arguments other than a weight enum or `None` for 'weights' are deprecated since 0.13 "
        "and may be removed in the future. The current behavior is equivalent to passing "
        f"`weights={weights}`."
    )
    if pretrained:
        message += (
            f" You can also use `weights={type(weights).__name__}.DEFAULT` to get the most "
            "up-to-date weights."
        )
    warnings.warn(message, UserWarning, stacklevel=3)
    return weights


def imagenet_weights(url, *, num_params, acc1, acc5, gflops, file_size_mb, recipe,
                     min_size=(1, 1), resize_size=256):  # fmt: skip
    """``Weights`` of an ImageNet-1K classifier with torchvision's meta keys and preset."""
    from ember.vision.transforms._presets import ImageClassification

    return Weights(
        url=url,
        transforms=functools.partial(ImageClassification, crop_size=224, resize_size=resize_size),
        meta={
            "min_size": min_size,
            "categories": list(imagenet_categories()),
            "num_params": num_params,
            "recipe": recipe,
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}},
            "_ops": gflops,
            "_file_size": file_size_mb,
        },
    )
