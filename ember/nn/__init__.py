"""ember.nn: modules, parameters, the functional API and initialisers."""

from ember.nn import attention, functional, init, parallel, utils
from ember.nn.modules import *
from ember.nn.parallel import DataParallel
from ember.nn.parameter import *
