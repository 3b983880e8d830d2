"""``torch.distributed.checkpoint.hf_storage``: Hugging Face safetensors storage for sharded
checkpoints (unsupported in ember; see ``ember.distributed.checkpoint``)."""

from ember.distributed.tensor._api import _unsupported

__all__ = ["HuggingFaceStorageReader", "HuggingFaceStorageWriter"]


class HuggingFaceStorageReader:
    def __init__(self, path, *args, **kwargs):
        raise _unsupported("torch.distributed.checkpoint.hf_storage.HuggingFaceStorageReader")


class HuggingFaceStorageWriter:
    def __init__(self, path, *args, **kwargs):
        raise _unsupported("torch.distributed.checkpoint.hf_storage.HuggingFaceStorageWriter")
