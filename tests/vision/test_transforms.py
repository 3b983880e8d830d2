"""Transforms against values computed independently with NumPy loops and Pillow."""

import math

import numpy as np
import pytest

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F

rng = np.random.default_rng(0)
IMG_U8 = rng.integers(0, 256, (3, 7, 9), dtype=np.uint8)  # C, H, W
IMG_F = rng.random((3, 7, 9), dtype=np.float32)


def t(a):
    return ember.from_numpy(np.ascontiguousarray(a))


def pil(chw):
    Image = pytest.importorskip("PIL.Image")
    return Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)))


# ------------------------------------------------------------------ conversion


def test_to_tensor_from_array_and_pil():
    hwc = IMG_U8.transpose(1, 2, 0)
    out = T.ToTensor()(hwc)
    assert out.dtype == ember.float32 and tuple(out.shape) == (3, 7, 9)
    np.testing.assert_allclose(out.numpy(), IMG_U8 / 255.0, rtol=1e-6)
    grey = T.ToTensor()(IMG_U8[0])
    assert tuple(grey.shape) == (1, 7, 9)
    floats = T.ToTensor()(IMG_F.transpose(1, 2, 0))
    np.testing.assert_array_equal(floats.numpy(), IMG_F)  # floats keep their values
    np.testing.assert_allclose(T.ToTensor()(pil(IMG_U8)).numpy(), IMG_U8 / 255.0, rtol=1e-6)
    with pytest.raises(TypeError, match="to_tensor: expected a PIL image or NumPy array"):
        T.ToTensor()([1, 2])


def test_pil_to_tensor_keeps_values():
    out = T.PILToTensor()(pil(IMG_U8))
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), IMG_U8)


def test_convert_image_dtype():
    u8 = t(IMG_U8)
    np.testing.assert_allclose(T.ConvertImageDtype(ember.float32)(u8).numpy(), IMG_U8 / 255.0,
                               rtol=1e-6)  # fmt: skip
    back = T.ConvertImageDtype(ember.uint8)(t(IMG_F)).numpy()
    np.testing.assert_array_equal(back, np.floor(IMG_F.astype(np.float64) * 255.999))
    i16 = np.array([[[0, 127, 128, 32767]]], np.int16)
    np.testing.assert_array_equal(F.convert_image_dtype(t(i16), ember.uint8).numpy(),
                                  [[[0, 0, 1, 255]]])  # fmt: skip
    np.testing.assert_array_equal(F.convert_image_dtype(t(IMG_U8), ember.int32).numpy(),
                                  IMG_U8.astype(np.int64) << 23)  # fmt: skip


def test_normalize():
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    expected = (IMG_F - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    np.testing.assert_allclose(T.Normalize(mean, std)(t(IMG_F)).numpy(), expected, rtol=1e-5)
    x = t(IMG_F.copy())
    assert T.Normalize(mean, std, inplace=True)(x) is x
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0, 0, 0], [1, 0, 1])(t(IMG_F))
    with pytest.raises(TypeError, match="floating point tensor"):
        T.Normalize([0], [1])(t(IMG_U8))


# ------------------------------------------------------------------ resize


def bilinear_reference(img, out_h, out_w):
    """Textbook bilinear with half-pixel centres, edge clamped (PyTorch's align_corners=False)."""
    c, h, w = img.shape
    out = np.zeros((c, out_h, out_w))
    for y in range(out_h):
        sy = max((y + 0.5) * h / out_h - 0.5, 0.0)
        y0 = min(int(math.floor(sy)), h - 1)
        y1, fy = min(y0 + 1, h - 1), sy - y0
        for x in range(out_w):
            sx = max((x + 0.5) * w / out_w - 0.5, 0.0)
            x0 = min(int(math.floor(sx)), w - 1)
            x1, fx = min(x0 + 1, w - 1), sx - x0
            top = (1 - fx) * img[:, y0, x0] + fx * img[:, y0, x1]
            bottom = (1 - fx) * img[:, y1, x0] + fx * img[:, y1, x1]
            out[:, y, x] = (1 - fy) * top + fy * bottom
    return out


@pytest.mark.parametrize("size", [(11, 13), (4, 5), (7, 20)])
def test_resize_bilinear_against_reference(size):
    out = T.Resize(size, antialias=False)(t(IMG_F)).numpy()
    np.testing.assert_allclose(out, bilinear_reference(IMG_F, *size), rtol=1e-5, atol=1e-6)


def test_resize_upsampling_same_with_or_without_antialias():
    a = T.Resize((15, 17))(t(IMG_F)).numpy()
    np.testing.assert_allclose(a, bilinear_reference(IMG_F, 15, 17), rtol=1e-5, atol=1e-6)


def test_resize_nearest():
    out = T.Resize((5, 4), interpolation=T.InterpolationMode.NEAREST)(t(IMG_U8)).numpy()
    rows = np.floor(np.arange(5) * 7 / 5).astype(int)
    cols = np.floor(np.arange(4) * 9 / 4).astype(int)
    np.testing.assert_array_equal(out, IMG_U8[:, rows][:, :, cols])


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resize_antialias_matches_pillow(mode):
    big = rng.integers(0, 256, (3, 40, 50), dtype=np.uint8)
    m = T.InterpolationMode(mode)
    ours = T.Resize((13, 17), interpolation=m)(t(big)).numpy().astype(int)
    theirs = np.asarray(T.Resize((13, 17), interpolation=m)(pil(big))).transpose(2, 0, 1)
    # Pillow uses fixed-point weights and rounds to uint8 between its two passes.
    diff = np.abs(ours - theirs)
    assert diff.max() <= 2 and diff.mean() < 0.3


def test_resize_smaller_edge_and_max_size():
    assert tuple(T.Resize(14)(t(IMG_F)).shape) == (3, 14, 18)
    assert tuple(T.Resize(14, max_size=15)(t(IMG_F)).shape) == (3, 11, 15)
    assert pil(IMG_U8).size == (9, 7) and T.Resize(14)(pil(IMG_U8)).size == (18, 14)
    hwc = T.Resize((4, 6))(IMG_U8.transpose(1, 2, 0))
    assert hwc.shape == (4, 6, 3) and hwc.dtype == np.uint8


# ------------------------------------------------------------------ crops, pads, flips


def test_center_crop():
    out = T.CenterCrop((4, 5))(t(IMG_U8)).numpy()
    top, left = int(round((7 - 4) / 2)), int(round((9 - 5) / 2))
    np.testing.assert_array_equal(out, IMG_U8[:, top : top + 4, left : left + 5])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((4, 5))(pil(IMG_U8))),
                                  out.transpose(1, 2, 0))  # fmt: skip
    big = T.CenterCrop(10)(t(IMG_U8)).numpy()  # larger than the image: zero border
    assert big.shape == (3, 10, 10)
    np.testing.assert_array_equal(big[:, 1:8, 0:9], IMG_U8)
    assert big[:, 0].sum() == 0 and big[:, :, 9].sum() == 0


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding", [2, (1, 3), (1, 2, 3, 0)])
def test_pad_modes(mode, padding):
    p = [padding] * 4 if isinstance(padding, int) else padding
    left, top, right, bottom = (p[0], p[1], p[0], p[1]) if len(p) == 2 else p
    expected = np.pad(IMG_U8, [(0, 0), (top, bottom), (left, right)], mode=mode)
    np.testing.assert_array_equal(T.Pad(padding, padding_mode=mode)(t(IMG_U8)).numpy(), expected)
    got = T.Pad(padding, padding_mode=mode)(pil(IMG_U8))
    np.testing.assert_array_equal(np.asarray(got), expected.transpose(1, 2, 0))


def test_pad_fill_per_channel_and_errors():
    out = T.Pad(1, fill=(1, 2, 3))(t(IMG_U8)).numpy()
    assert out[:, 0, 0].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(out[:, 1:-1, 1:-1], IMG_U8)
    with pytest.raises(ValueError, match="padding_mode must be"):
        F.pad(t(IMG_U8), 1, padding_mode="wrap")
    with pytest.raises(ValueError, match="1, 2 or 4 ints"):
        T.Pad((1, 2, 3))


def windows(a, h, w):
    return [a[:, i : i + h, j : j + w] for i in range(a.shape[1] - h + 1)
            for j in range(a.shape[2] - w + 1)]  # fmt: skip


def test_random_crop_is_a_window_of_the_padded_image():
    ember.manual_seed(0)
    padded = np.pad(IMG_U8, [(0, 0), (2, 2), (2, 2)])
    seen = set()
    for _ in range(20):
        out = T.RandomCrop((5, 6), padding=2)(t(IMG_U8)).numpy()
        hits = [k for k, w in enumerate(windows(padded, 5, 6)) if np.array_equal(w, out)]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 3
    grown = T.RandomCrop((9, 12), pad_if_needed=True)(t(IMG_U8)).numpy()
    assert grown.shape == (3, 9, 12)
    with pytest.raises(ValueError, match=r"crop size \(9, 12\) is larger than the image \(7, 9\)"):
        T.RandomCrop((9, 12))(t(IMG_U8))


def test_random_crop_reproducible():
    ember.manual_seed(3)
    a = T.RandomCrop(4)(t(IMG_U8)).numpy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(T.RandomCrop(4)(t(IMG_U8)).numpy(), a)


def test_random_resized_crop():
    ember.manual_seed(0)
    out = T.RandomResizedCrop((5, 6))(t(IMG_F))
    assert tuple(out.shape) == (3, 5, 6)
    square = rng.random((1, 8, 8), dtype=np.float32)
    whole = T.RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(1.0, 1.0))(t(square)).numpy()
    np.testing.assert_allclose(whole, T.Resize((4, 4))(t(square)).numpy())
    i, j, h, w = T.RandomResizedCrop.get_params(t(IMG_F), (0.2, 0.5), (0.5, 2.0))
    assert 0 <= i <= 7 - h and 0 <= j <= 9 - w and 0.2 * 63 * 0.5 <= h * w <= 0.5 * 63 * 1.6


def test_flips():
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t(IMG_U8)).numpy(),
                                  IMG_U8[:, :, ::-1])  # fmt: skip
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(t(IMG_U8)).numpy(), IMG_U8[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(t(IMG_U8)).numpy(), IMG_U8)
    hwc = IMG_U8.transpose(1, 2, 0)
    np.testing.assert_array_equal(F.hflip(hwc), hwc[:, ::-1])
    np.testing.assert_array_equal(np.asarray(F.vflip(pil(IMG_U8))), hwc[::-1])
    with pytest.raises(ValueError, match=r"p must be a probability"):
        T.RandomHorizontalFlip(2)


# ------------------------------------------------------------------ warps


def test_rotation_by_90_is_rot90():
    sq = rng.integers(0, 256, (2, 6, 6), dtype=np.uint8)
    out = T.RandomRotation((90, 90))(t(sq)).numpy()
    np.testing.assert_array_equal(out, np.rot90(sq, 1, axes=(1, 2)))  # counter-clockwise
    rgb = rng.integers(0, 256, (3, 6, 6), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(F.rotate(pil(rgb), 90)),
                                  np.rot90(rgb, 1, axes=(1, 2)).transpose(1, 2, 0))  # fmt: skip
    tall = F.rotate(t(IMG_U8), -90, expand=True).numpy()
    np.testing.assert_array_equal(tall, np.rot90(IMG_U8, -1, axes=(1, 2)))
    theirs = F.rotate(pil(IMG_U8), 30, expand=True)
    assert F.rotate(t(IMG_U8), 30, expand=True).shape[1:] == (theirs.height, theirs.width)


def test_rotation_fill_and_bilinear_identity():
    out = F.rotate(t(IMG_F), 45, fill=5.0).numpy()
    assert out[0, 0, 0] == 5.0  # the corner came from outside the image
    same = F.rotate(t(IMG_F), 0.0, interpolation=T.InterpolationMode.BILINEAR).numpy()
    np.testing.assert_allclose(same, IMG_F, rtol=1e-6)


def test_affine_translation_and_scale():
    out = F.affine(t(IMG_U8), 0.0, (2, 1), 1.0, 0.0).numpy()
    expected = np.zeros_like(IMG_U8)
    expected[:, 1:, 2:] = IMG_U8[:, :-1, :-2]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        np.asarray(F.affine(pil(IMG_U8), 0.0, (2, 1), 1.0, 0.0)), expected.transpose(1, 2, 0)
    )
    # Scaling by 2 about the centre of an even image repeats each central pixel twice.
    sq = rng.random((1, 8, 8), dtype=np.float32)
    zoom = F.affine(t(sq), 0.0, (0, 0), 2.0, 0.0).numpy()
    np.testing.assert_array_equal(zoom, np.repeat(np.repeat(sq[:, 2:6, 2:6], 2, 1), 2, 2))


def test_affine_shear_maps_points_like_the_matrix():
    # x-shear of 45 degrees: output pixel (x, y) reads input (x + (y - cy), y).
    img = rng.random((1, 5, 5), dtype=np.float32)
    out = F.affine(t(img), 0.0, (0, 0), 1.0, (45.0, 0.0)).numpy()
    for y in range(5):
        for x in range(5):
            src = x + (y - 2)
            assert out[0, y, x] == (img[0, y, src] if 0 <= src < 5 else 0)


def test_random_affine_runs_and_validates():
    ember.manual_seed(1)
    out = T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)(t(IMG_F))
    assert tuple(out.shape) == (3, 7, 9)
    with pytest.raises(ValueError, match="translate values must be in"):
        T.RandomAffine(0, translate=(2, 0))


# ------------------------------------------------------------------ colour and misc


def test_grayscale():
    r, g, b = (IMG_F[i] for i in range(3))
    expected = 0.2989 * r + 0.587 * g + 0.114 * b
    out = T.Grayscale()(t(IMG_F)).numpy()
    np.testing.assert_allclose(out[0], expected, rtol=1e-5)
    three = T.Grayscale(3)(t(IMG_U8)).numpy()
    ri, gi, bi = (IMG_U8[i].astype(np.float64) for i in range(3))
    np.testing.assert_array_equal(three[1], np.floor(0.2989 * ri + 0.587 * gi + 0.114 * bi))
    pil_grey = np.asarray(T.Grayscale()(pil(IMG_U8))).astype(int)
    assert np.abs(pil_grey - (299 * ri + 587 * gi + 114 * bi) / 1000).max() <= 1


def test_color_adjustments():
    np.testing.assert_allclose(F.adjust_brightness(t(IMG_F), 1.5).numpy(),
                               np.clip(IMG_F * 1.5, 0, 1), rtol=1e-6)  # fmt: skip
    grey = 0.2989 * IMG_F[0] + 0.587 * IMG_F[1] + 0.114 * IMG_F[2]
    contrast = np.clip(0.5 * IMG_F + 0.5 * grey.mean(), 0, 1)
    np.testing.assert_allclose(F.adjust_contrast(t(IMG_F), 0.5).numpy(), contrast, rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(t(IMG_F), 0.0).numpy(),
                               np.broadcast_to(grey, IMG_F.shape), rtol=1e-5)  # fmt: skip
    red = np.zeros((3, 2, 2), np.float32)
    red[0] = 1.0
    cyan = F.adjust_hue(t(red), 0.5).numpy()
    np.testing.assert_allclose(cyan[:, 0, 0], [0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(t(IMG_F), 0.0).numpy(), IMG_F, atol=1e-6)
    ember.manual_seed(0)
    out = T.ColorJitter(0.2, 0.2, 0.2, 0.1)(t(IMG_F))
    assert tuple(out.shape) == (3, 7, 9)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)


def test_compose_lambda_random_apply():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda x: x * 2), T.Normalize([1], [2])])
    out = pipeline(IMG_U8[0])
    np.testing.assert_allclose(out.numpy()[0], (IMG_U8[0] / 255 * 2 - 1) / 2, atol=1e-6)
    assert "Normalize(mean=[1], std=[2])" in repr(pipeline)
    x = t(IMG_F)
    assert T.RandomApply([T.Lambda(lambda v: v + 1)], p=0.0)(x) is x
    np.testing.assert_allclose(T.RandomApply([T.Lambda(lambda v: v + 1)], p=1.0)(x).numpy(),
                               IMG_F + 1)  # fmt: skip
    with pytest.raises(TypeError, match="expected a callable"):
        T.Lambda(3)


def test_random_erasing():
    ember.manual_seed(0)
    img = np.full((3, 20, 20), 0.5, np.float32)
    out = T.RandomErasing(p=1.0, value=7)(t(img)).numpy()
    ys, xs = np.nonzero(out[0] == 7)
    assert len(ys) and (out == 7).sum() == 3 * len(ys)
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert h * w == len(ys) and 0.02 * 400 * 0.7 <= h * w <= 0.33 * 400 * 1.3  # a rectangle
    assert (out[out != 7] == 0.5).all()
    noisy = T.RandomErasing(p=1.0, value="random")(t(img)).numpy()
    assert (noisy != 0.5).any()
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(t(img)).numpy(), img)
    with pytest.raises(TypeError, match="expected a tensor image"):
        T.RandomErasing(p=1.0)(img)


def test_bad_inputs_name_the_operation():
    with pytest.raises(TypeError, match="resize: expected a PIL image, NumPy array or tensor"):
        F.resize([[1]], 2)
    with pytest.raises(ValueError, match="Resize: size must be"):
        T.Resize((1, 2, 3))
