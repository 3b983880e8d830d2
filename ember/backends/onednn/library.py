"""The ctypes boundary to oneDNN, the library behind PyTorch's CPU convolutions.

oneDNN's C API is loaded from the `onednn-cpu-gomp` wheel (installed with ember on x86-64
Linux). This module owns the library handle, its engine and stream, and small owners of
memory descriptors and primitives; the kernels built from them live beside it (`conv`).
Where the library is missing or does not answer as expected, `available()` is false and
every oneDNN kernel declines, so the NumPy kernels run.
"""

import contextlib
import ctypes
import os
import sys
import threading
from collections import OrderedDict

import numpy as np

from ember.backends.numpy import blas_pool

_MAX_NDIMS = 12
Dims = ctypes.c_int64 * _MAX_NDIMS
"""A dnnl_dims_t: oneDNN's fixed-size array of dimensions."""

_F32, U8 = 3, 6  # dnnl_data_type_t
TAG_ANY, TAG_A, TAG_ABCD, TAG_ABCDE = 1, 2, 5, 6
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
QUERY_SRC_MD, QUERY_DIFF_SRC_MD, QUERY_WEIGHTS_MD, QUERY_DIFF_WEIGHTS_MD = 129, 130, 131, 132
QUERY_DST_MD, QUERY_DIFF_DST_MD, QUERY_WORKSPACE_MD = 133, 134, 135
ARG_WORKSPACE = 64
ARG_SRC_1 = 2  # a binary primitive's second operand


def post_op_src(index):
    """DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1: the operand of the binary
    post-op at ``index``."""
    return 32768 * (index + 1) | ARG_SRC_1


_QUERY_IMPL_INFO_STR = 8
_ARG_FROM, _ARG_TO = ARG_SRC, ARG_DST  # a reorder's input and output


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


def _load():
    # GNU OpenMP's idle threads spin for a while (300,000 rounds) before they sleep, as in
    # PyTorch: ember's multi-threaded kernels, matrix products included (see ``matmul``),
    # all run on this one pool, so between two of them a spinning thread takes the next
    # region at once. (While NumPy's products ran on OpenBLAS's own pool, that spin starved
    # its threads, and ember had shortened it; OpenBLAS now stays on the calling thread.)
    if os.environ.get("EMBER_ONEDNN", "1") == "0":
        return None
    for name in (os.path.join(sys.prefix, "lib", "libdnnl.so.3"), "libdnnl.so.3"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


_lib = _load()
_engine = ctypes.c_void_p()
_stream = ctypes.c_void_p()


def _check(status, what):
    if status != 0:
        raise Refused(f"oneDNN {what} failed with status {status}")


class Refused(Exception):
    """oneDNN cannot run this configuration; the NumPy kernels take over."""


def _init():
    """Engine and stream; a library that does not answer as expected is not used."""
    global _lib
    if _lib is None:
        return
    try:
        _lib.dnnl_primitive_desc_query_md.restype = ctypes.c_void_p
        _lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        _lib.dnnl_memory_desc_equal.restype = ctypes.c_int
        _check(_lib.dnnl_engine_create(ctypes.byref(_engine), 1, 0), "engine_create")
        _check(_lib.dnnl_stream_create(ctypes.byref(_stream), _engine, 1), "stream_create")
    except (Refused, AttributeError):
        _lib = None


_init()


def _single_thread_in_forked_child():
    """GNU OpenMP's thread pool does not survive fork: a child that entered a parallel region
    with the parent's pool size would wait forever for threads that were not copied. Children
    (DataLoader workers among them) run oneDNN on one thread."""
    set_num_threads(1)


if _lib is not None:
    os.register_at_fork(after_in_child=_single_thread_in_forked_child)


def available():
    return _lib is not None


_AVX512_CORE = 0x20
"""The bit every AVX-512 level of dnnl_cpu_isa_t sets (avx512_core is 0x27; avx2 0x7, its
VNNI levels 0xf and 0x1f)."""


def avx512():
    """Whether oneDNN runs AVX-512 code on this CPU."""
    return available() and bool(_lib.dnnl_get_effective_cpu_isa() & _AVX512_CORE)


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int)]


def version():
    """'major.minor.patch' of the loaded library, or None."""
    if _lib is None:
        return None
    _lib.dnnl_version.restype = ctypes.POINTER(_Version)
    v = _lib.dnnl_version().contents
    return f"{v.major}.{v.minor}.{v.patch}"


def set_num_threads(n):
    """oneDNN's kernels run on GNU OpenMP's thread pool; size it like NumPy's."""
    if _lib is None:
        return
    try:
        ctypes.CDLL("libgomp.so.1").omp_set_num_threads(int(n))
    except (OSError, AttributeError):
        pass


def _load_gomp():
    """GNU OpenMP, whose thread count oneDNN's primitives read; None where it is missing."""
    try:
        gomp = ctypes.CDLL("libgomp.so.1")
    except OSError:
        return None
    wanted = ("omp_get_max_threads", "omp_set_num_threads")
    return gomp if all(hasattr(gomp, name) for name in wanted) else None


_gomp = _load_gomp()


@contextlib.contextmanager
def one_thread():
    """Primitives created inside the block run on the calling thread alone. oneDNN fixes a
    primitive's thread count when it creates it; one that has a single thread calls its kernel
    directly, without waking OpenMP's pool (tens of microseconds, more than a small product
    costs). Reorders read the count when they run: one run inside the block runs alone."""
    gomp = _gomp
    if gomp is None:
        yield
        return
    before = gomp.omp_get_max_threads()
    gomp.omp_set_num_threads(1)
    try:
        yield
    finally:
        gomp.omp_set_num_threads(before)


class Desc:
    """An owned oneDNN memory descriptor (of float32 memory unless ``data_type`` says)."""

    def __init__(self, dims, strides=None, tag=None, data_type=_F32):
        self.handle = ctypes.c_void_p()
        d = Dims(*dims)
        if strides is not None:
            status = _lib.dnnl_memory_desc_create_with_strides(
                ctypes.byref(self.handle), len(dims), d, data_type, Dims(*strides)
            )
        else:
            status = _lib.dnnl_memory_desc_create_with_tag(
                ctypes.byref(self.handle), len(dims), d, data_type, tag
            )
        _check(status, "memory_desc_create")

    @classmethod
    def of(cls, array):
        """The descriptor of a float32 or uint8 NumPy array as it lies in memory (its own
        strides)."""
        size = array.itemsize
        data_type = _F32 if size == 4 else U8
        return cls(array.shape, [s // size for s in array.strides], data_type=data_type)

    def __del__(self):
        if _lib is not None and self.handle:
            _lib.dnnl_memory_desc_destroy(self.handle)


def plain(a, shape):
    """Whether ``a`` is a C-contiguous float32 NumPy array of ``shape``."""
    return (
        a.__class__ is np.ndarray
        and a.dtype == np.float32
        and a.shape == shape
        and a.flags.c_contiguous
    )


def describable(array):
    """Whether `Desc.of` can describe ``array``: not empty, nor a broadcast or reversed view."""
    size = array.itemsize
    return array.size > 0 and all(s > 0 and s % size == 0 for s in array.strides)


def same_layout(md, other):
    """Whether two memory descriptor handles describe the same layout."""
    return bool(_lib.dnnl_memory_desc_equal(md, other))


class RecentlyUsed:
    """The ``size`` most recently used of the objects ``make()`` built for each key
    (primitives and what goes with them: building one costs far more than running it)."""

    def __init__(self, size):
        self.size = size
        self._items = OrderedDict()

    def get(self, key, make):
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = make()
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return item


class Primitive:
    """A primitive descriptor and its primitive, owned together. One made with
    ``parks_blas=True`` (convolutions, pooling: long runs on every core) first ends NumPy's
    spinning BLAS threads, see `ember.backends.numpy.blas_pool`."""

    def __init__(self, create_pd, parks_blas=False):
        self.parks_blas = parks_blas
        self._implementation = None
        self.pd = ctypes.c_void_p()
        self.prim = ctypes.c_void_p()
        _check(create_pd(ctypes.byref(self.pd)), "primitive_desc_create")
        _check(_lib.dnnl_primitive_create(ctypes.byref(self.prim), self.pd), "primitive_create")

    def md(self, query):
        return ctypes.c_void_p(_lib.dnnl_primitive_desc_query_md(self.pd, query, 0))

    def implementation(self):
        """The name of the kernel oneDNN chose, such as 'brgconv:avx512_core' ('ref:any' for
        its slow reference code). Asked once: callers such as cross-entropy choose their
        path by it on every call."""
        if self._implementation is None:
            name = ctypes.c_char_p()
            query = _lib.dnnl_primitive_desc_query(
                self.pd, _QUERY_IMPL_INFO_STR, 0, ctypes.byref(name)
            )
            _check(query, "primitive_desc_query")
            self._implementation = name.value.decode()
        return self._implementation

    def scalar_code(self):
        """Whether oneDNN chose unvectorised code for this primitive: its reference ('ref')
        or simple ('simple_nchw') kernels, which it falls back to where a CPU lacks a JIT
        kernel (the softmax backward and plain-layout pooling on AVX2 CPUs) and which run
        several times slower than NumPy's kernels for the same op."""
        return self.implementation().startswith(("ref", "simple"))

    def run(self, args):
        """Execute with args: a list of (DNNL_ARG_*, memory descriptor, NumPy array)."""
        if self.parks_blas:
            blas_pool.park()
        mems = []
        try:
            for _, md, array in args:
                mem = ctypes.c_void_p()
                _check(
                    _lib.dnnl_memory_create(
                        ctypes.byref(mem), md, _engine, ctypes.c_void_p(array.ctypes.data)
                    ),
                    "memory_create",
                )
                mems.append(mem)
            packed = (_ExecArg * len(args))(*[_ExecArg(a[0], m) for a, m in zip(args, mems)])
            _check(_lib.dnnl_primitive_execute(self.prim, _stream, len(args), packed), "execute")
            _check(_lib.dnnl_stream_wait(_stream), "stream_wait")
        finally:
            for mem in mems:
                _lib.dnnl_memory_destroy(mem)

    def __del__(self):
        if _lib is not None:
            if self.prim:
                _lib.dnnl_primitive_destroy(self.prim)
            if self.pd:
                _lib.dnnl_primitive_desc_destroy(self.pd)


class Runner:
    """A primitive bound to fixed arguments, ``arg_mds``: (DNNL_ARG_*, memory descriptor
    handle) pairs whose descriptors outlive it. Its memory objects are made once and pointed
    at each run's arrays, which saves `Primitive.run`'s creating and destroying them. With
    ``alone`` it runs on the calling thread only (for reorders, which read OpenMP's thread
    count when they run; see `one_thread` for other primitives)."""

    def __init__(self, primitive, arg_mds, alone=False):
        self.primitive = primitive
        self._arg_mds = tuple(arg_mds)
        self._alone = alone and _gomp is not None
        self._mems = []
        for _, md in arg_mds:
            mem = ctypes.c_void_p()
            _check(_lib.dnnl_memory_create(ctypes.byref(mem), md, _engine, None), "memory_create")
            self._mems.append(mem)
        self._args = (_ExecArg * len(arg_mds))(
            *[_ExecArg(arg, mem) for (arg, _), mem in zip(arg_mds, self._mems)]
        )
        self._lock = threading.Lock()  # held while a run points the memory objects

    def run(self, *arrays):
        """Execute on ``arrays``, one NumPy array per argument, in the order bound. A run that
        meets another thread's run of this primitive makes memory objects of its own."""
        if not self._lock.acquire(blocking=False):
            self.primitive.run([(a, md, x) for (a, md), x in zip(self._arg_mds, arrays)])
            return
        try:
            if self.primitive.parks_blas:
                blas_pool.park()
            for mem, array in zip(self._mems, arrays, strict=True):
                _check(
                    _lib.dnnl_memory_set_data_handle(mem, ctypes.c_void_p(array.ctypes.data)),
                    "memory_set_data_handle",
                )
            if self._alone:
                threads = _gomp.omp_get_max_threads()
                _gomp.omp_set_num_threads(1)
            try:
                status = _lib.dnnl_primitive_execute(
                    self.primitive.prim, _stream, len(self._mems), self._args
                )
            finally:
                if self._alone:
                    _gomp.omp_set_num_threads(threads)
            _check(status, "execute")
            _check(_lib.dnnl_stream_wait(_stream), "stream_wait")
        finally:
            self._lock.release()

    def __del__(self):
        if _lib is not None:
            for mem in self._mems:
                _lib.dnnl_memory_destroy(mem)


def vectorised_runner(primitive, args):
    """A `Runner` of ``primitive`` bound to ``args``, or None where there is no primitive or
    oneDNN has only scalar code for it."""
    if primitive is None or primitive.scalar_code():
        return None
    return Runner(primitive, args)


class Reorder:
    """A copy between two layouts of the same tensor (memory descriptor handles)."""

    def __init__(self, src_md, dst_md):
        self.src_md, self.dst_md = src_md, dst_md
        self.primitive = Primitive(
            lambda out: _lib.dnnl_reorder_primitive_desc_create(
                out, src_md, _engine, dst_md, _engine, None
            )
        )

    def run(self, src, dst):
        self.primitive.run([(_ARG_FROM, self.src_md, src), (_ARG_TO, self.dst_md, dst)])


def convolution(direction, *args):
    """The convolution primitive of ``direction`` ("forward", "backward_data" or
    "backward_weights") on the CPU engine; ``args`` follow the engine in oneDNN's C call."""
    create = getattr(_lib, f"dnnl_convolution_{direction}_primitive_desc_create")
    return Primitive(lambda out: create(out, _engine, *args), parks_blas=True)


def pooling(direction, *args):
    """The pooling primitive of ``direction`` ("forward" or "backward") on the CPU engine;
    ``args`` follow the engine in oneDNN's C call."""
    create = getattr(_lib, f"dnnl_pooling_{direction}_primitive_desc_create")
    return Primitive(lambda out: create(out, _engine, *args), parks_blas=True)


def buffer(md):
    """A float32 array as large as the memory that descriptor handle ``md`` describes."""
    return np.empty(_lib.dnnl_memory_desc_get_size(md) // 4, np.float32)
