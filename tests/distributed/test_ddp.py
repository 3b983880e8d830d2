"""DistributedDataParallel on 2 ranks against one process on the whole batch, and against
PyTorch's DistributedDataParallel (gloo) running the same script."""

import numpy as np
import pytest


@pytest.mark.parametrize(
    "args",
    [(), ("--bucket-mb", "0.0005"), ("--no-sync",), ("--unused",), ("--zero",)],
    ids=["one-bucket", "many-buckets", "no_sync", "find_unused_parameters", "zero-adam"],
)
def test_ddp_matches_single_process(mpirun, args):
    proc = mpirun("ddp_matches_single_process.py", 2, *args, timeout=120)
    assert proc.stdout.count("DDP weights match") == 2


def test_ddp_unused_parameter_without_detection_raises_next_iteration(mpirun):
    proc = mpirun(
        "ddp_matches_single_process.py", 2, "--unused", "--no-detect", timeout=60, expect_ok=False
    )
    assert proc.returncode != 0
    assert "Expected to have finished reduction in the prior iteration" in proc.stderr
    assert "unused.weight" in proc.stderr


@pytest.mark.parametrize("branchy", [False, True], ids=["all-used", "rank-dependent-unused"])
def test_ddp_same_weights_as_torch_ddp(mpirun, torch_reference, free_port, tmp_path, branchy):
    options = ["--out", str(tmp_path), *(["--branchy"] if branchy else [])]
    torch_reference("ddp_same_as_torch.py", *options)
    ember_options = ["--lib", "ember", "--port", free_port(), *options]
    mpirun("ddp_same_as_torch.py", 2, *ember_options, timeout=120)
    want, got = np.load(tmp_path / "torch.npz"), np.load(tmp_path / "ember.npz")
    assert sorted(got.files) == sorted(want.files)
    for key in want.files:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_ddp_checkpoint_on_rank0_resumes_on_every_rank(mpirun, tmp_path):
    proc = mpirun("ddp_checkpoint_resume.py", 2, "--out", str(tmp_path), timeout=60)
    for via in ("module", "ddp"):
        assert proc.stdout.count(f"resumed from the {via} checkpoint, weights match") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint_ddp.pt",
        "checkpoint_module.pt",
    ]


def test_ddp_join_on_uneven_inputs_matches_torch(mpirun, torch_reference, free_port, tmp_path):
    torch_reference("ddp_join_uneven.py", "--out", str(tmp_path))
    options = ["--lib", "ember", "--out", str(tmp_path), "--port", free_port()]
    mpirun("ddp_join_uneven.py", 2, *options, timeout=120)
    for rank in (0, 1):
        want = np.load(tmp_path / f"torch_rank{rank}.npz")
        got = np.load(tmp_path / f"ember_rank{rank}.npz")
        assert sorted(got.files) == sorted(want.files)
        for key in want.files:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)
        raised = (tmp_path / f"ember_rank{rank}.txt").read_text()
        assert raised == (tmp_path / f"torch_rank{rank}.txt").read_text()
        assert raised.startswith("RuntimeError: ")
