"""``ember bench`` runs the suite from the source checkout and fails cleanly elsewhere."""

import json

from ember.cli import bench
from ember.cli import main as cli


def test_runs_the_suite_and_writes_json(tmp_path):
    out = tmp_path / "r.json"
    args = ["bench", "--only", "mlp_latency_b1", "--steps", "3", "--rounds", "2"]
    args += ["--json", str(out)]
    assert cli.main(args) == 0
    results = json.loads(out.read_text())
    assert results["mode"] == "a process per library"
    (row,) = results["results"]
    assert row["workload"] == "mlp_latency_b1"
    for lib in ("ember", "torch"):
        timing = row[lib]
        assert 0 < timing["min_ms"] <= timing["median_ms"] <= timing["max_ms"]
        assert timing["peak_mb"] >= 0
    assert row["ratio"] == row["ember"]["median_ms"] / row["torch"]["median_ms"]


def test_without_a_checkout_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "benchmarks_folder", lambda: str(tmp_path))
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "source checkout" in err and len(err.strip().splitlines()) == 1
