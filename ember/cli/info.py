"""``ember info``: versions, the BLAS NumPy uses, threads and devices."""

import os
import platform


def add_parser(sub):
    p = sub.add_parser("info", help="show versions, BLAS, threads and devices")
    p.set_defaults(run=run)


def blas_name():
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def devices():
    from ember._device import cupy_or_none

    found = ["cpu"]
    cp = cupy_or_none()
    if cp is not None:
        found += [f"cuda:{i}" for i in range(cp.cuda.runtime.getDeviceCount())]
    return found


def run(args):
    import numpy as np

    import ember
    from ember.backends.onednn import library as _onednn

    threads = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count())
    conv = f"oneDNN {_onednn.version()}" if _onednn.available() else "NumPy im2col"
    rows = [
        ("ember", ember.__version__),
        ("python", platform.python_version()),
        ("numpy", np.__version__),
        ("blas", blas_name()),
        ("threads", threads),
        ("conv", conv),
        ("cpu", platform.processor() or platform.machine()),
        ("devices", ", ".join(devices())),
    ]
    for k, v in rows:
        print(f"{k:<8} {v}")
