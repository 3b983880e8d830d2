"""All nn layers, one file per family."""

# PyTorch's module paths for what lives in other files here (``nn.modules.batchnorm._BatchNorm``).
from ember.nn.modules import batchnorm, instancenorm, utils  # noqa: E402
from ember.nn.modules.activation import *
from ember.nn.modules.adaptive import *
from ember.nn.modules.attention import *
from ember.nn.modules.container import *
from ember.nn.modules.conv import *
from ember.nn.modules.cross_map_lrn import *
from ember.nn.modules.distance import *
from ember.nn.modules.dropout import *
from ember.nn.modules.flatten import *
from ember.nn.modules.lazy_instancenorm import *
from ember.nn.modules.linear import *
from ember.nn.modules.loss import *
from ember.nn.modules.loss_extra import *
from ember.nn.modules.module import *
from ember.nn.modules.normalization import *
from ember.nn.modules.padding import *
from ember.nn.modules.pixelshuffle import *
from ember.nn.modules.pooling import *
from ember.nn.modules.pooling_extra import *
from ember.nn.modules.rnn import *
from ember.nn.modules.sparse import *
from ember.nn.modules.sync_batchnorm import *
from ember.nn.modules.transformer import *
from ember.nn.modules.upsampling import *

# The layers; the submodules stay reachable as ``nn.modules.<name>`` but are not exported.
__all__ = [n for n, v in globals().items() if not n.startswith("_") and type(v) is not type(utils)]
