"""``Summary`` protocol buffers for each kind of record a SummaryWriter writes."""

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

from ember.utils.tensorboard._image import encode_png, to_hwc, to_uint8


def default_bins():
    """TensorBoard's histogram edges: +-1e-12 growing by a factor 1.1 up to 1e20, and 0."""
    edges = []
    v = 1e-12
    while v < 1e20:
        edges.append(v)
        v *= 1.1
    return [-e for e in reversed(edges)] + [0] + edges


def scalar(tag, array, new_style=False, double_precision=False):
    value = array.squeeze()
    if value.ndim != 0:
        raise ValueError(
            f"SummaryWriter.add_scalar: {tag!r} needs a single value, got shape {list(array.shape)}"
        )
    number = float(value)
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=number)])
    if double_precision:
        proto = TensorProto(double_val=[number], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[number], dtype="DT_FLOAT")
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=metadata)])


def histogram(tag, array, bins, max_bins=None):
    values = array.reshape(-1).astype(np.float64)
    if values.size == 0:
        raise ValueError(f"SummaryWriter.add_histogram: {tag!r} has no values")
    if not np.isfinite(values).all():
        raise ValueError(f"SummaryWriter.add_histogram: {tag!r} has non-finite values")
    counts, edges = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        counts, edges = _merge_bins(counts, edges, len(counts) // max_bins)
    # Keep the bins from the first to the last non-empty one. A bucket is stored with its right
    # edge only, so one empty bucket goes in front to carry the leftmost edge.
    nonzero = np.flatnonzero(counts)
    first, last = nonzero[0], nonzero[-1]
    if first > 0:
        counts, edges = counts[first - 1 : last + 1], edges[first : last + 2]
    else:
        counts, edges = np.concatenate([[0], counts[: last + 1]]), edges[: last + 2]
    proto = HistogramProto(
        min=values.min(),
        max=values.max(),
        num=values.size,
        sum=values.sum(),
        sum_squares=values.dot(values),
        bucket_limit=edges.tolist(),
        bucket=counts.tolist(),
    )
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def _merge_bins(counts, edges, group):
    """Sum every ``group`` neighbouring bins into one (the last group may be short)."""
    pad = -len(counts) % group
    merged = np.pad(counts, (0, pad)).reshape(-1, group).sum(axis=1)
    return merged, np.append(edges[:-1:group], edges[-1])


def image(tag, array, dataformats, op):
    pixels = to_uint8(to_hwc(array, dataformats, op))
    height, width, channels = pixels.shape
    proto = Summary.Image(
        height=height,
        width=width,
        colorspace=channels,
        encoded_image_string=encode_png(pixels),
    )
    return Summary(value=[Summary.Value(tag=tag, image=proto)])


def text(tag, string):
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(
            plugin_name="text", content=TextPluginData(version=0).SerializeToString()
        )
    )
    proto = TensorProto(
        dtype="DT_STRING",
        string_val=[string.encode("utf-8")],
        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
    )
    return Summary(
        value=[Summary.Value(tag=tag + "/text_summary", metadata=metadata, tensor=proto)]
    )
