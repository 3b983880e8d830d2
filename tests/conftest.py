"""Every test starts its random streams from a seed of its own, taken from its id: the
module-level NumPy generators of its test module, NumPy's global stream and ember's. Without
this a test's inputs would depend on which tests ran before it in the same process, and with
the suite shared out over several processes that order changes from run to run, so a
tolerance that is tight for a few inputs would fail at random."""

import zlib

import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _random_streams_seeded_per_test(request):
    seed = zlib.crc32(request.node.nodeid.encode())
    module = request.module
    generators = [
        name for name, value in vars(module).items() if isinstance(value, np.random.Generator)
    ]
    for index, name in enumerate(generators):
        setattr(module, name, np.random.default_rng([seed, index]))
    np.random.seed(seed)
    ember.manual_seed(seed)
