"""ember.hub: load_state_dict_from_url from a local cache, never from the network."""

import os
from urllib.parse import urlparse

__all__ = ["get_dir", "set_dir", "load_state_dict_from_url", "download_url_to_file"]

_dir = [os.path.join(os.environ.get("TORCH_HOME", os.path.expanduser("~/.cache/torch")), "hub")]


def get_dir():
    return _dir[0]


def set_dir(d):
    _dir[0] = os.fspath(d)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=True):  # fmt: skip
    """Load a checkpoint named by ``url`` from the cache folder (``get_dir()/checkpoints``)."""
    folder = model_dir or os.path.join(get_dir(), "checkpoints")
    name = file_name or os.path.basename(urlparse(url).path)
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        raise RuntimeError(
            f"load_state_dict_from_url: {name} is not in the local cache {folder} and ember "
            f"does not download weights. Fetch {url} yourself and place it at {path}."
        )
    from ember.serialization import load

    return load(path, map_location=map_location)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    raise RuntimeError(f"download_url_to_file: ember does not download ({url}); copy it to {dst}")
