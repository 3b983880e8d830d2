"""``ember compat``: the static report of the torch APIs a script uses."""

import argparse
import textwrap

import pytest

from ember.cli import compat


def test_report_lists_available_and_missing_names(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""
        import torch
        import torch.nn.functional as F
        from torch import autograd
        x = torch.randn(3, 4).view(12)
        y = F.this_is_not_a_function(x)
        g = autograd.grad
        z = torch.nested.nested_tensor([x])
        w = x.to_mkldnn()
    """)
    )
    code = compat.run(argparse.Namespace(script=str(script)))
    out = capsys.readouterr().out
    assert code == 1
    assert "ok       torch.randn" in out
    assert "ok       Tensor.view" in out
    assert "ok       torch.autograd.grad" in out
    assert "missing  torch.nn.functional.this_is_not_a_function" in out
    assert "missing  torch.nested.nested_tensor" in out
    assert "missing  Tensor.to_mkldnn" in out
    assert out.strip().splitlines()[-1].startswith("3 of 6 used APIs available; missing: ")


def test_fully_supported_script_exits_zero(tmp_path, capsys):
    script = tmp_path / "ok.py"
    script.write_text("import torch\nx = torch.zeros(2).sum().item()\n")
    assert compat.run(argparse.Namespace(script=str(script))) == 0
    assert "3 of 3 used APIs available" in capsys.readouterr().out


def test_unreadable_and_invalid_scripts_give_clear_errors(tmp_path, capsys):
    assert compat.run(argparse.Namespace(script=str(tmp_path / "nope.py"))) == 2
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    assert compat.run(argparse.Namespace(script=str(bad))) == 2
    assert "not valid Python" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"\x7fELF\x02\x01\x01\x00" * 8, b"\xff\xfe\x80 binary"])
def test_binary_file_gives_one_line(tmp_path, capsys, content):
    binary = tmp_path / "program"
    binary.write_bytes(content)
    assert compat.run(argparse.Namespace(script=str(binary))) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is not valid Python" in err, err
