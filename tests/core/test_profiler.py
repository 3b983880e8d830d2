"""The profilers: every op and range recorded with consistent times; PyTorch's schedule."""

import json

import pytest
import torch

import ember
from ember.autograd import profiler


def _model_step(model, x):
    with profiler.record_function("forward"):
        y = model(x).sum()
    with profiler.record_function("backward"):
        y.backward()


def test_ops_and_ranges_are_recorded_with_consistent_times():
    model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.ReLU(), ember.nn.Linear(16, 2))
    x = ember.randn(4, 8)
    _model_step(model, x)  # warm
    with profiler.profile(record_shapes=True) as prof:
        _model_step(model, x)
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["ember::Linear"].count == 2 and averages["ember::Relu"].count == 1
    assert averages["forward"].count == averages["backward"].count == 1
    for e in prof.events():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-9
    # the ranges hold every op: their totals add up to the self time of everything
    ranges = averages["forward"].cpu_time_total + averages["backward"].cpu_time_total
    assert ranges == pytest.approx(prof.self_cpu_time_total(), rel=1e-9)
    linear = [e for e in prof.events() if e.key == "ember::Linear"]
    assert linear[0].input_shapes[0] == [4, 8]
    full_table = prof.key_averages().table(sort_by="self_cpu_time_total")
    assert (
        "Self CPU %" in full_table and "ember::Linear" in full_table and "# of Calls" in full_table
    )
    # the row limit keeps the five largest by the sort key, largest first
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    rows = [
        line.split()[0]
        for line in table.splitlines()
        if line.split() and line.split()[0] in averages
    ]
    by_self_time = sorted(averages, key=lambda k: averages[k].self_cpu_time_total, reverse=True)
    assert rows == by_self_time[:5]


def test_nothing_is_recorded_outside_the_block(tmp_path):
    with profiler.profile() as prof:
        ember.ones(3) * 2
    before = len(prof.events())
    ember.ones(3) * 2
    assert len(prof.events()) == before == 1
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    trace = json.loads((tmp_path / "t.json").read_text())
    assert trace["traceEvents"][0]["name"] == "ember::Mul" and trace["traceEvents"][0]["ph"] == "X"
    with pytest.raises(RuntimeError, match="didn't finish"):
        profiler.profile().key_averages()


@pytest.mark.parametrize(
    "kw",
    [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=0, active=1, repeat=2, skip_first=3)],
)
def test_schedule_matches_pytorch(kw):
    ours, theirs = ember.profiler.schedule(**kw), torch.profiler.schedule(**kw)
    assert [ours(i).name for i in range(14)] == [theirs(i).name for i in range(14)]


def test_torch_profiler_steps_and_trace_handler(tmp_path):
    saved = []
    sched = ember.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)

    def on_ready(prof):
        saved.append(sum(e.count for e in prof.key_averages()))
        ember.profiler.tensorboard_trace_handler(str(tmp_path))(prof)

    with ember.profiler.profile(
        activities=[ember.profiler.ProfilerActivity.CPU], schedule=sched, on_trace_ready=on_ready
    ) as prof:
        for _ in range(6):
            ember.ones(2) + 1  # one op per step
            prof.step()
    assert saved == [2]  # the two active steps, one op each
    assert len(list(tmp_path.glob("*.pt.trace.json"))) == 1
    with pytest.raises(AssertionError, match="CPU only"):
        ember.profiler.profile(activities=[ember.profiler.ProfilerActivity.CUDA])
