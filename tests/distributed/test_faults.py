"""Faults end the whole job quickly, with a message naming the failed rank or operation."""

import time


def test_uncaught_exception_aborts_every_rank(mpirun):
    start = time.monotonic()
    proc = mpirun("fault_cases.py", 2, "uncaught", timeout=60, expect_ok=False)
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr
    assert "rank 1 of 2 failed with an uncaught ValueError" in proc.stderr
    assert "not reached" not in proc.stdout


def test_collective_times_out_and_names_the_operation(mpirun):
    start = time.monotonic()
    proc = mpirun("fault_cases.py", 2, "timeout", timeout=60, expect_ok=False)
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    assert "caught: all_reduce on process group '0' of 2 ranks [0, 1] timed out after 2 s" in (
        proc.stdout
    )
    assert "rank 0 of 2 failed with an uncaught DistBackendError" in proc.stderr
    assert "rank 1 did not call it (collective number 1 on the group)" in proc.stdout


def test_collective_timeout_names_the_ranks_that_did_not_arrive(mpirun):
    proc = mpirun("fault_cases.py", 3, "absent", timeout=60, expect_ok=False)
    assert proc.returncode != 0
    absent = "timed out after 2 s: rank 2 did not call it (collective number 1 on the group)"
    assert f"all_reduce on process group '0' of 3 ranks [0, 1, 2] {absent}" in proc.stderr
    assert "rank 0 of 3 failed" in proc.stderr or "rank 1 of 3 failed" in proc.stderr


def test_monitored_barrier_names_the_missing_rank(mpirun):
    proc = mpirun("fault_cases.py", 2, "monitored", timeout=60, expect_ok=False)
    assert proc.returncode != 0
    assert "rank 1 failed to pass monitoredBarrier in 2 s" in proc.stderr


def test_exit_after_a_caught_timeout_aborts_instead_of_hanging(mpirun):
    start = time.monotonic()
    proc = mpirun("fault_cases.py", 2, "caught", timeout=60, expect_ok=False)
    assert time.monotonic() - start < 30
    assert "rank 0 ends normally after catching the timeout" in proc.stdout
    assert proc.returncode != 0
    assert "exiting after a timed-out operation; aborting all ranks" in proc.stderr


def test_rank_missing_from_init_process_group_times_out(mpirun):
    start = time.monotonic()
    proc = mpirun("fault_cases.py", 2, "init", timeout=60, expect_ok=False)
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    assert "init_process_group on the 2 processes started by mpiexec" in proc.stderr
    assert "timed out after 2 s" in proc.stderr


def test_killed_rank_ends_every_rank(mpirun):
    start = time.monotonic()
    proc = mpirun("fault_cases.py", 2, "killed", timeout=60, expect_ok=False)
    assert time.monotonic() - start < 30
    assert proc.returncode != 0
    assert "not reached" not in proc.stdout


def test_mismatched_collectives_raise_on_every_rank_in_debug_mode(mpirun):
    detail = {"TORCH_DISTRIBUTED_DEBUG": "DETAIL"}
    proc = mpirun("fault_cases.py", 2, "mismatch_shape", env=detail, expect_ok=False)
    assert proc.returncode != 0
    expected = "rank 0: all_reduce, [3] float32, op=RedOpType.SUM; rank 1: all_reduce, [4] float32"
    assert proc.stderr.count(expected) == 2  # the same error on both ranks
    proc = mpirun("fault_cases.py", 2, "mismatch_op", env=detail, expect_ok=False)
    assert proc.returncode != 0
    assert proc.stderr.count("rank 0: all_reduce, [3] float32") == 2
    assert "rank 1: broadcast, [3] float32, src=0" in proc.stderr
    assert "not reached" not in proc.stdout
