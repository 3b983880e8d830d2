"""ember.utils.tensorboard: write TensorBoard event files (``SummaryWriter``).

The protocol buffers and the record writer come from the ``tensorboard`` package, an optional
dependency, so the files are the ones TensorBoard itself reads.
"""

try:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: F401
except ImportError as e:
    raise ImportError(
        "TensorBoard logging requires TensorBoard, which is not installed. "
        "Install it with: pip install tensorboard"
    ) from e

from ember.utils.tensorboard.writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "SummaryWriter"]
