"""Op table: pad in every mode, interpolate and the upsample functions, grid_sample and
affine_grid."""

import warnings

import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import nc, r, reseed

reseed(26)

D = dict(double_backward=True)


def F(lib):
    return lib.nn.functional


# The pads each input rank takes in the non-constant modes: the last 1, 2 or 3 dimensions.
PADS_BY_RANK = {2: [(1, 2)], 3: [(1, 2), (2, 1, 0, 1)], 4: [(2, 1, 0, 2), (1, 0, 1, 1, 0, 1)],
                5: [(1, 0, 2, 1, 0, 1)]}  # fmt: skip
PAD_SAMPLES = [(r(3, 4),), (nc(2, 3, 4),), (r(1, 2, 3, 4),), (r(1, 2, 3, 3, 3),)]


def _pads(mode):
    return lambda lib, x: tuple(F(lib).pad(x, p, mode=mode) for p in PADS_BY_RANK[x.dim()])


PAD = [
    Row("pad_constant", lambda lib, x: (
        F(lib).pad(x, (1, 2)), F(lib).pad(x, (0, 1, 2, 0), value=1.5),
        F(lib).pad(x, (1, 1, 0, 0, 1, 0), mode="constant", value=-1.0),
        F(lib).pad(x, (-1, 1, 0, -1))), [(r(2, 3, 4),), (nc(2, 3, 4),), (r(1, 2, 3, 4),)],
        **D),
    Row("pad_reflect", _pads("reflect"), PAD_SAMPLES, **D),
    Row("pad_replicate", _pads("replicate"), PAD_SAMPLES, **D),
    Row("pad_circular", _pads("circular"), PAD_SAMPLES, **D),
]  # fmt: skip


def _interpolate(**kwargs):
    return lambda lib, x: F(lib).interpolate(x, **kwargs)


INTERPOLATE = [
    Row("interpolate_nearest", lambda lib, x: (
        F(lib).interpolate(x, size=(5, 4)), F(lib).interpolate(x, scale_factor=2),
        F(lib).interpolate(x, scale_factor=(0.6, 1.5), mode="nearest-exact")),
        [(r(1, 2, 3, 3),), (nc(1, 2, 3, 3),)], **D),
    Row("interpolate_nearest_1d_3d", lambda lib, x: (
        F(lib).interpolate(x, scale_factor=1.7), F(lib).interpolate(x, size=2,
                                                                    mode="nearest-exact")),
        [(r(2, 2, 3),), (r(1, 2, 2, 3, 3),)], **D),
    Row("interpolate_linear", lambda lib, x: (
        F(lib).interpolate(x, size=5, mode="linear"),
        F(lib).interpolate(x, scale_factor=0.5, mode="linear", align_corners=True)),
        [(r(2, 2, 4),)], **D),
    Row("interpolate_bilinear", lambda lib, x: (
        F(lib).interpolate(x, size=(4, 5), mode="bilinear"),
        F(lib).interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
        F(lib).interpolate(x, scale_factor=1.3, mode="bilinear",
                           recompute_scale_factor=True)),
        [(r(1, 2, 3, 3),), (nc(1, 2, 3, 3),)], **D),
    Row("interpolate_bicubic", lambda lib, x: (
        F(lib).interpolate(x, size=(4, 5), mode="bicubic"),
        F(lib).interpolate(x, scale_factor=0.7, mode="bicubic", align_corners=True)),
        [(r(1, 2, 3, 4),)], **D),
    Row("interpolate_trilinear", lambda lib, x: (
        F(lib).interpolate(x, size=(3, 2, 4), mode="trilinear"),
        F(lib).interpolate(x, scale_factor=1.5, mode="trilinear", align_corners=True)),
        [(r(1, 2, 2, 3, 2),)], **D),
    Row("interpolate_area", lambda lib, x: (
        F(lib).interpolate(x, size=(2, 3), mode="area"),
        F(lib).interpolate(x, scale_factor=0.5, mode="area")), [(r(1, 2, 4, 5),)], **D),
    # 'area' on 5-D input and antialias=True are left out: ember raises NotImplementedError
    # for both (listed in docs/compat.md).
    Row("interpolate_area_1d", _interpolate(size=2, mode="area"), [(r(2, 2, 5),)], **D),
]  # fmt: skip


def _quietly(fn):
    """Run ``fn`` without its deprecation warning (the upsample functions warn in both)."""

    def run(lib, x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(F(lib), x)

    return run


UPSAMPLE = [
    Row("upsample", _quietly(lambda F, x: (
        F.upsample(x, size=(4, 5)), F.upsample(x, scale_factor=2, mode="bilinear",
                                               align_corners=False))),
        [(r(1, 2, 3, 3),)], **D),
    Row("upsample_nearest", _quietly(lambda F, x: (F.upsample_nearest(x, size=(4, 5)),
                                                   F.upsample_nearest(x, scale_factor=2))),
        [(r(1, 2, 3, 3),)], **D),
    Row("upsample_bilinear", _quietly(lambda F, x: (F.upsample_bilinear(x, size=(4, 5)),
                                                    F.upsample_bilinear(x, scale_factor=2))),
        [(r(1, 2, 3, 3),)], **D),
]  # fmt: skip


def _grid_sample(mode, align_corners):
    return lambda lib, x, g: tuple(
        F(lib).grid_sample(x, g, mode=mode, padding_mode=p, align_corners=align_corners)
        for p in ("zeros", "border", "reflection")
    )  # fmt: skip


GRID_2D = [(r(1, 2, 4, 4), r(1, 3, 3, 2) * 0.8), (r(2, 2, 3, 4), r(2, 2, 3, 2) * 1.3)]

GRID = [  # torch has no double backward for grid_sample
    Row("grid_sample_bilinear", _grid_sample("bilinear", False), GRID_2D),
    Row("grid_sample_bilinear_align_corners", _grid_sample("bilinear", True), GRID_2D[1:]),
    Row("grid_sample_nearest", _grid_sample("nearest", False), GRID_2D),
    Row("grid_sample_bicubic", _grid_sample("bicubic", False), GRID_2D),
    Row("grid_sample_bicubic_align_corners", _grid_sample("bicubic", True), GRID_2D[1:]),
    Row("grid_sample_3d", lambda lib, x, g: (*_grid_sample("bilinear", False)(lib, x, g),
                                             *_grid_sample("nearest", True)(lib, x, g)),
        [(r(1, 2, 3, 3, 3), r(1, 2, 2, 2, 3) * 1.2)]),
    Row("affine_grid", lambda lib, t: (F(lib).affine_grid(t, (2, 3, 4, 5), align_corners=False),
                                       F(lib).affine_grid(t, (2, 1, 3, 2), align_corners=True)),
        [(r(2, 2, 3),)], **D),
    Row("affine_grid_3d", lambda lib, t: (
        F(lib).affine_grid(t, (1, 2, 3, 2, 4), align_corners=False),
        F(lib).affine_grid(t, (1, 1, 2, 3, 2), align_corners=True)), [(r(1, 3, 4),)], **D),
]  # fmt: skip

ROWS = PAD + INTERPOLATE + UPSAMPLE + GRID


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
