"""Images for TensorBoard: any layout to an HWC uint8 array, batches tiled into a grid, PNG."""

import io

import numpy as np

_GRID_COLUMNS = 8


def to_hwc(array, dataformats, op):
    """Reorder ``array`` (laid out as ``dataformats``: NCHW, HWC, HW, ...) to HWC, 3 or 4
    channels; a batch is tiled into a grid of up to 8 columns, grey images become RGB."""
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt) or not set(fmt) <= set("NCHW"):
        raise ValueError(
            f"SummaryWriter.{op}: dataformats must use each of N, C, H, W at most once, "
            f"got {dataformats!r}"
        )
    if array.ndim != len(fmt):
        raise ValueError(
            f"SummaryWriter.{op}: an image of shape {list(array.shape)} does not match "
            f"dataformats {dataformats!r}"
        )
    if fmt in ("HW", "WH"):
        hw = array.transpose([fmt.index(c) for c in "HW"])
        return np.stack([hw] * 3, axis=2)
    if len(fmt) == 3:
        hwc = array.transpose([fmt.index(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, axis=2) if hwc.shape[2] == 1 else hwc
    if len(fmt) == 4:
        return _grid(array.transpose([fmt.index(c) for c in "NCHW"]), op).transpose(1, 2, 0)
    raise ValueError(f"SummaryWriter.{op}: unsupported dataformats {dataformats!r}")


def _grid(nchw, op):
    """A batch of images (N, 1 or 3, H, W) tiled row by row into one (3, H*rows, W*cols)."""
    if nchw.shape[1] == 1:
        nchw = np.concatenate([nchw] * 3, axis=1)
    n, c, h, w = nchw.shape
    if c != 3:
        raise ValueError(
            f"SummaryWriter.{op}: a batch of images needs 1 or 3 channels, got shape "
            f"{list(nchw.shape)} (N, C, H, W)"
        )
    cols = min(n, _GRID_COLUMNS)
    rows = -(-n // cols) if n else 0
    padded = np.zeros((rows * cols, c, h, w), dtype=nchw.dtype)
    padded[:n] = nchw
    tiled = padded.reshape(rows, cols, c, h, w).transpose(2, 0, 3, 1, 4)
    return tiled.reshape(c, rows * h, cols * w)


def to_uint8(hwc):
    """Pixel values 0..255: uint8 images are taken as they are, others are scaled by 255."""
    scale = 1 if hwc.dtype == np.uint8 else 255
    return (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def encode_png(hwc_uint8):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(hwc_uint8).save(buffer, format="PNG")
    return buffer.getvalue()


def render_figure(figure, close):
    """A matplotlib figure's pixels as a CHW uint8 array (RGB, alpha dropped)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if close:
        plt.close(figure)
    return np.ascontiguousarray(rgba[:, :, :3].transpose(2, 0, 1))
