"""ember.nn: modules, parameters, the functional API and initialisers."""

from ember.nn import functional, init, utils
from ember.nn.modules import *
from ember.nn.parameter import *
