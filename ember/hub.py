"""ember.hub: load_state_dict_from_url from a local cache, never from the network."""

import os
import re
from urllib.parse import urlparse

__all__ = ["get_dir", "set_dir", "load_state_dict_from_url", "download_url_to_file"]

# PyTorch's names for the settings and files of its hub, which libraries read.
ENV_GITHUB_TOKEN = "GITHUB_TOKEN"
ENV_TORCH_HOME = "TORCH_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
VAR_DEPENDENCY = "dependencies"
MODULE_HUBCONF = "hubconf.py"
READ_DATA_CHUNK = 128 * 1024
# The hash prefix in a checkpoint's file name, "resnet18-f37072fd.pth".
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")


def _torch_home():
    """$TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch, as in PyTorch."""
    cache = os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR)
    return os.path.expanduser(os.getenv(ENV_TORCH_HOME, os.path.join(cache, "torch")))


_dir = [os.path.join(_torch_home(), "hub")]


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
