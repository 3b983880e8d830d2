"""Every collective against NumPy on 2 and 3 ranks (the checks run inside the script)."""

import pytest


@pytest.mark.parametrize("nprocs", [2, 3])
def test_collectives_match_numpy(mpirun, nprocs):
    proc = mpirun("collectives_match_numpy.py", nprocs, timeout=120)
    assert proc.stdout.count("all collectives match NumPy") == nprocs
