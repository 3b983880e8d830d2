"""``ember bench`` runs the suite from the source checkout and fails cleanly elsewhere."""

import json

from ember.cli import bench
from ember.cli import main as cli


def test_runs_the_suite_and_writes_json(tmp_path):
    out = tmp_path / "r.json"
    args = ["bench", "--only", "mlp_latency_b1", "--steps", "3", "--no-memory", "--json", str(out)]
    assert cli.main(args) == 0
    results = json.loads(out.read_text())
    text = json.dumps(results)
    assert "mlp_latency_b1" in text and "ember" in text and "torch" in text


def test_without_a_checkout_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "benchmarks_folder", lambda: str(tmp_path))
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "source checkout" in err and len(err.strip().splitlines()) == 1
