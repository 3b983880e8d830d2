"""Short-time Fourier transforms, as ``torch.stft`` and ``torch.istft``.

A signal is cut into overlapping frames (``Frames``), each multiplied by the window and
transformed; ``istft`` transforms the frames back, windows them again and adds the overlaps
(``OverlapAdd``), dividing by the summed squared window. ``Frames`` and ``OverlapAdd`` are
each other's adjoints, so each one's backward is the other.
"""

import warnings

import numpy as np

from ember._ops.complex import view_as_real
from ember._ops.fourier import c2c, c2r, r2c
from ember._ops.pad import pad
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = ["stft", "istft"]


class Frames(ArrayFunction):
    """(..., length) -> (..., n_frames, frame_length): frame t starts at t * hop."""

    @staticmethod
    def forward(ctx, x, frame_length, hop):
        ctx.length, ctx.hop = x.shape[-1], hop
        windows = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)
        return np.ascontiguousarray(windows[..., ::hop, :])

    @staticmethod
    def backward(ctx, g):
        return OverlapAdd.apply(g, ctx.hop, ctx.length), None, None


class OverlapAdd(ArrayFunction):
    """(..., n_frames, frame_length) -> (..., length): the frames added at t * hop."""

    @staticmethod
    def forward(ctx, frames, hop, length):
        n_frames, frame_length = frames.shape[-2:]
        ctx.frame_length, ctx.hop = frame_length, hop
        starts = np.arange(n_frames) * hop
        positions = (starts[:, None] + np.arange(frame_length)).reshape(-1)
        rows = frames.reshape(-1, n_frames * frame_length)
        index = (np.arange(rows.shape[0])[:, None] * length + positions).reshape(-1)
        size = rows.shape[0] * length

        def added(values):
            return np.bincount(index, weights=values.reshape(-1), minlength=size)

        out = added(rows.real).astype(frames.dtype)
        if frames.dtype.kind == "c":
            out += 1j * added(rows.imag)
        return out.reshape(frames.shape[:-2] + (length,))

    @staticmethod
    def backward(ctx, g):
        return Frames.apply(g, ctx.frame_length, ctx.hop), None, None


def _describe(op, input, n_fft, hop_length, win_length):
    return f"{op}(input of shape {list(input.shape)}, n_fft={n_fft}, hop_length={hop_length}, " \
        f"win_length={win_length})"  # fmt: skip


def _full_window(op, window, n_fft, win_length, dtype, where):
    """The window as n_fft values: ``window`` (or ones) centred with zeros on both sides."""
    if window is None:
        window = wrap(np.ones(win_length, dtype))
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(
            f"{where}: expected a 1D window tensor of size equal to win_length={win_length}, "
            f"but got window with size {list(window.shape)}"
        )
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = pad(window, (left, n_fft - win_length - left))
    return window


def _lengths(op, input, n_fft, hop_length, win_length):
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    where = _describe(op, input, n_fft, hop_length, win_length)
    if hop_length <= 0:
        raise RuntimeError(f"{where}: expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(
            f"{where}: expected 0 < win_length <= n_fft, but got win_length={win_length}"
        )
    return hop_length, win_length, where


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None):  # fmt: skip
    """The short-time Fourier transform of a (length,) or (batch, length) signal:
    (batch,) freq x n_frames complex values, freq = n_fft // 2 + 1 when ``onesided``."""
    if return_complex is None and not (
        input.is_complex() or (window is not None and window.is_complex())
    ):
        raise RuntimeError(
            "stft requires the return_complex parameter be given for real inputs, and will "
            "further require that return_complex=True in a future PyTorch release."
        )
    hop_length, win_length, where = _lengths("stft", input, n_fft, hop_length, win_length)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{where}: expected a 1D or 2D tensor")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if x._data.dtype.kind in "iub":
        raise RuntimeError(f"{where}: expected a float or complex input, got {input.dtype}")
    if center:
        half = n_fft // 2
        x = pad(x.unsqueeze(1), (half, half), mode=pad_mode).squeeze(1)
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"{where}: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    real_dtype = x.real._data.dtype
    win = _full_window("stft", window, n_fft, win_length, real_dtype, where)
    frames = Frames.apply(x, n_fft, hop_length) * win
    complex_input = x.is_complex() or win.is_complex()
    if onesided is None:
        onesided = not complex_input
    elif onesided and complex_input:
        raise RuntimeError(
            f"{where}: Cannot have onesided output if window or input is complex"
        )  # fmt: skip
    norm = "ortho" if normalized else "backward"
    last = (frames.ndim - 1,)
    transform = r2c if onesided else c2c
    spectrum = transform(frames, last, (n_fft,), norm, True)
    out = spectrum.transpose(-1, -2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if not return_complex:
        warnings.warn(
            "stft with return_complex=False is deprecated. In a future pytorch release, stft "
            "will return complex tensors for all inputs, and return_complex=False will raise "
            "an error. Note: you can still call torch.view_as_real on the complex output to "
            "recover the old return format.",
            UserWarning,
            stacklevel=2,
        )
        return view_as_real(out)
    return out


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):  # fmt: skip
    """The signal whose ``stft`` is ``input`` (freq x n_frames, optionally batched), by
    windowed overlap-add divided by the summed squared window."""
    if not isinstance(input, Tensor) or not input.is_complex():
        raise RuntimeError(
            "istft requires a complex-valued input tensor matching the output from stft with "
            "return_complex=True."
        )
    hop_length, win_length, where = _lengths("istft", input, n_fft, hop_length, win_length)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{where}: expected a 2D or 3D complex tensor, got {input.ndim}D")
    spec = input if input.ndim == 3 else input.unsqueeze(0)
    freq = spec.shape[-2]
    if onesided is None:
        onesided = freq != n_fft
    expected = n_fft // 2 + 1 if onesided else n_fft
    if freq != expected:
        raise RuntimeError(
            f"{where}: expected the frequency dimension (2nd to last) of the input to be "
            f"{expected} ({'onesided' if onesided else 'not onesided'}), but got {freq}"
        )
    real_dtype = spec.real._data.dtype
    win = _full_window("istft", window, n_fft, win_length, real_dtype, where)
    if win.is_complex() and onesided:
        raise RuntimeError(f"{where}: Cannot have onesided output if window is complex")
    norm = "ortho" if normalized else "backward"
    frames_spec = spec.transpose(-1, -2)
    last = (frames_spec.ndim - 1,)
    if onesided:
        if return_complex:
            raise RuntimeError(f"{where}: cannot have onesided output if return_complex=True")
        frames = c2r(frames_spec, last, (n_fft,), n_fft, norm)
    else:
        frames = c2c(frames_spec, last, (n_fft,), norm, False)
        if not return_complex:
            frames = frames.real
    n_frames = frames.shape[-2]
    total = n_fft + hop_length * (n_frames - 1)
    signal = OverlapAdd.apply(frames * win, hop_length, total)
    square = (win * win.conj()).real if win.is_complex() else win * win
    envelope = OverlapAdd.apply(square.expand(n_frames, n_fft), hop_length, total)
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center else total
    if length is not None:
        end = start + length
    signal = signal[..., start : min(end, total)]
    envelope = envelope[..., start : min(end, total)]
    if (envelope.abs()._data < 1e-11).any():
        raise RuntimeError(f"{where}: window overlap add min: {envelope.abs().min().item()}")
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length:
        signal = pad(signal, (0, length - signal.shape[-1]))
    return signal if input.ndim == 3 else signal.squeeze(0)
