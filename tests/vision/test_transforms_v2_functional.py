"""transforms.v2.functional: importable as a module, the v1 ops under the same names, and the
v2 conversions checked against NumPy computations of the same thing."""

import importlib

import numpy as np
import pytest

import ember
from ember.vision.transforms import functional as v1


def _module():
    return importlib.import_module("ember.vision.transforms.v2.functional")


def test_v1_ops_are_the_same_objects():
    F = _module()
    for name in ("resize", "pad", "normalize", "crop", "to_pil_image", "InterpolationMode"):
        assert getattr(F, name) is getattr(v1, name)


def test_to_image_from_arrays_and_tensors():
    F = _module()
    hwc = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    image = F.to_image(hwc)
    np.testing.assert_array_equal(image.numpy(), hwc.transpose(2, 0, 1))
    assert image.dtype == ember.uint8
    np.testing.assert_array_equal(F.to_image(hwc[:, :, 0]).numpy(), hwc[None, :, :, 0])
    tensor = ember.zeros(3, 2, 2)
    assert F.to_image(tensor) is tensor
    with pytest.raises(ValueError, match="to_image"):
        F.to_image(np.zeros((1, 2, 3, 4)))


def test_to_dtype_image_scales_only_when_asked():
    F = _module()
    data = np.array([[[0, 51, 255]]], dtype=np.uint8)
    scaled = F.to_dtype_image(ember.tensor(data), ember.float32, scale=True)
    np.testing.assert_allclose(scaled.numpy(), data / np.float32(255), rtol=1e-7)
    unscaled = F.to_dtype(ember.tensor(data), ember.float32)
    np.testing.assert_array_equal(unscaled.numpy(), data.astype(np.float32))
    assert F.to_dtype_image(ember.tensor(data)).dtype == ember.float32


def test_grayscale_to_rgb_repeats_the_channel():
    F = _module()
    gray = ember.tensor(np.arange(8.0).reshape(2, 1, 2, 2))
    rgb = F.grayscale_to_rgb(gray)
    np.testing.assert_array_equal(rgb.numpy(), np.repeat(gray.numpy(), 3, axis=1))
    assert F.grayscale_to_rgb(rgb) is rgb
    with pytest.raises(ValueError, match="1 or 3 channels"):
        F.grayscale_to_rgb(ember.zeros(2, 2, 2))
