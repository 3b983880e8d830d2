"""``make_grid`` and ``save_image`` against grids assembled independently with NumPy."""

import io
import math

import numpy as np
import pytest

import ember
from ember.vision.utils import make_grid, save_image

PIL = pytest.importorskip("PIL.Image")


def reference_grid(batch, nrow, padding, pad_value):
    """Each image padded above and left, missing cells filled, rows joined with np.block,
    then one more band of padding below and right."""
    n, c, h, w = batch.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    blank = np.full((c, h + padding, w + padding), pad_value, batch.dtype)
    cells = []
    for k in range(rows * cols):
        if k < n:
            cell = blank.copy()
            cell[:, padding:, padding:] = batch[k]
            cells.append(cell)
        else:
            cells.append(blank)
    grid = np.block([[cells[r * cols + q] for q in range(cols)] for r in range(rows)])
    return np.pad(grid, ((0, 0), (0, padding), (0, padding)), constant_values=pad_value)


def grid_of(batch, **kwargs):
    return make_grid(ember.from_numpy(batch), **kwargs).numpy()


def test_two_pixels_written_out():
    batch = np.array([0.25, 0.75], np.float32).reshape(2, 1, 1, 1)
    out = grid_of(batch, padding=1, pad_value=0.5)
    row = [0.5, 0.25, 0.5, 0.75, 0.5]
    expected = np.array([[0.5] * 5, row, [0.5] * 5], np.float32)
    np.testing.assert_array_equal(out, np.stack([expected] * 3))


@pytest.mark.parametrize(
    "n, c, nrow, padding, pad_value",
    [(5, 3, 2, 2, 0.0), (8, 3, 8, 0, 0.0), (7, 1, 3, 1, 0.3), (3, 3, 8, 4, 1.0), (9, 4, 4, 2, 0.5)],
)
def test_layout_matches_reference(n, c, nrow, padding, pad_value):
    batch = np.random.default_rng(n).random((n, c, 4, 6), dtype=np.float32)
    out = grid_of(batch, nrow=nrow, padding=padding, pad_value=pad_value)
    full = np.repeat(batch, 3, axis=1) if c == 1 else batch
    np.testing.assert_array_equal(out, reference_grid(full, nrow, padding, pad_value))


def test_list_input_and_uint8_kept():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (3, 5, 5), dtype=np.uint8) for _ in range(3)]
    out = make_grid([ember.from_numpy(a) for a in images], nrow=2, pad_value=255)
    assert out.dtype == ember.uint8
    np.testing.assert_array_equal(out.numpy(), reference_grid(np.stack(images), 2, 2, 255))


def test_single_images():
    rng = np.random.default_rng(2)
    hw = rng.random((4, 5), dtype=np.float32)
    np.testing.assert_array_equal(grid_of(hw), np.stack([hw] * 3))
    grey = hw[None]
    np.testing.assert_array_equal(grid_of(grey, padding=3), np.stack([hw] * 3))
    rgb = rng.random((3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(grid_of(rgb[None], padding=3), rgb)


def minmax(a, low, high):
    return (np.clip(a, low, high) - low) / max(high - low, 1e-5)


def test_normalize_whole_batch_range_and_each():
    rng = np.random.default_rng(3)
    batch = (rng.standard_normal((4, 3, 3, 3)) * 5).astype(np.float32)
    before = batch.copy()
    t = ember.from_numpy(batch)

    def check(expected_batch, **kwargs):
        out = make_grid(t, nrow=2, padding=1, **kwargs).numpy()
        expected = reference_grid(expected_batch.astype(np.float32), 2, 1, 0.0)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)

    check(minmax(batch, batch.min(), batch.max()), normalize=True)
    check(minmax(batch, -2.0, 3.0), normalize=True, value_range=(-2.0, 3.0))
    each = np.stack([minmax(b, b.min(), b.max()) for b in batch])
    check(each, normalize=True, scale_each=True)
    check(minmax(batch, -1, 1), normalize=True, scale_each=True, value_range=(-1, 1))
    check(batch, value_range=(-1, 1))  # value_range alone does nothing
    np.testing.assert_array_equal(t.numpy(), before)  # the input is not changed


def test_constant_batch_does_not_divide_by_zero():
    out = grid_of(np.full((2, 3, 2, 2), 7.0, np.float32), normalize=True, padding=0)
    np.testing.assert_array_equal(out, np.zeros((3, 2, 4), np.float32))


def test_bad_inputs():
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(ember.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])
    with pytest.raises(RuntimeError, match="same shape"):
        make_grid([ember.zeros(3, 4, 4), ember.zeros(3, 5, 4)])
    with pytest.raises(ValueError, match="expected 2, 3 or 4 dimensions"):
        make_grid(ember.zeros(1, 2, 3, 4, 4))


def expected_png_pixels(grid):
    """torchvision's conversion: x * 255 + 0.5, clamped to [0, 255], truncated."""
    scaled = np.clip(grid.astype(np.float32) * np.float32(255) + np.float32(0.5), 0, 255)
    return np.floor(scaled).astype(np.uint8).transpose(1, 2, 0)


def test_save_image_png(tmp_path):
    rng = np.random.default_rng(4)
    batch = rng.random((6, 3, 5, 7), dtype=np.float32)
    batch[0, 0, 0, :4] = [-0.5, 1.5, 0.5 / 255, 254.4 / 255]  # clamped and rounding edges
    path = tmp_path / "grid.png"
    save_image(ember.from_numpy(batch), path, nrow=3, padding=1, pad_value=1.0)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    saved = np.asarray(PIL.open(path))
    grid = reference_grid(batch, 3, 1, 1.0)
    np.testing.assert_array_equal(saved, expected_png_pixels(grid))


def test_save_image_to_file_object_with_format():
    image = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 3, 4)
    buf = io.BytesIO()
    save_image(ember.from_numpy(image), buf, format="PNG")
    buf.seek(0)
    saved = np.asarray(PIL.open(buf))
    np.testing.assert_array_equal(saved, expected_png_pixels(np.concatenate([image] * 3)))
