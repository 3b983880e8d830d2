"""ember.nn.functional: the functional forms of the nn layers; each name is an op of ember._ops."""

from ember._ops.activation import *
from ember._ops.attention import *
from ember._ops.conv import *
from ember._ops.conv3d import *  # after conv: its conv3d replaces conv's
from ember._ops.embedding_bag import *
from ember._ops.loss import *
from ember._ops.nn_misc import *
from ember._ops.norm import *
from ember._ops.pad import *
from ember._ops.pool import *
