"""Measure ember's coverage of PyTorch's public API, from the test-only PyTorch.

    python scripts/api_coverage.py            # rewrite docs/compat.md's coverage section
                                              # and ember/cli/torch_tensor_methods.txt

For each namespace, the public names PyTorch exposes and which of them ember has.
"""

import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

NAMESPACES = [
    ("torch", "ember"),
    ("torch.Tensor", "ember.Tensor"),
    ("torch.nn", "ember.nn"),
    ("torch.nn.functional", "ember.nn.functional"),
    ("torch.nn.init", "ember.nn.init"),
    ("torch.optim", "ember.optim"),
    ("torch.optim.lr_scheduler", "ember.optim.lr_scheduler"),
    ("torch.utils.data", "ember.utils.data"),
    ("torch.autograd", "ember.autograd"),
    ("torch.linalg", "ember.linalg"),
]
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"


def _resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


def public_names(obj):
    names = getattr(obj, "__all__", None)
    if names is None or isinstance(obj, type):
        names = dir(obj)
    return sorted({n for n in names if not n.startswith("_")})


def _has(obj, name):
    try:
        getattr(obj, name)
    except Exception:
        return False
    return True


def coverage():
    rows = []
    for torch_name, ember_name in NAMESPACES:
        theirs = public_names(_resolve(torch_name))
        try:
            ours_obj = _resolve(ember_name)
        except (ImportError, AttributeError):
            ours_obj = None
        have = [n for n in theirs if ours_obj is not None and _has(ours_obj, n)]
        missing = [n for n in theirs if n not in set(have)]
        rows.append((torch_name, len(have), len(theirs), missing))
    return rows


def render(rows):
    lines = [BEGIN, "", "| namespace | ember has | of PyTorch's | share |", "|---|---|---|---|"]
    for name, have, total, _ in rows:
        lines.append(f"| `{name}` | {have} | {total} | {100 * have / max(total, 1):.0f}% |")
    lines.append("")
    for name, _, _, missing in rows:
        if missing:
            lines.append(
                f"<details><summary>Missing from <code>{name}</code> ({len(missing)})</summary>\n"
            )
            lines.append(", ".join(f"`{n}`" for n in missing))
            lines.append("\n</details>\n")
    lines.append(END)
    return "\n".join(lines)


def main():
    sys.path.insert(0, ROOT)
    import torch

    rows = coverage()
    path = os.path.join(ROOT, "docs", "compat.md")
    with open(path) as f:
        text = f.read()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(path, "w") as f:
        f.write(text[:start] + render(rows) + text[end:])
    methods = public_names(torch.Tensor)
    with open(os.path.join(ROOT, "ember", "cli", "torch_tensor_methods.txt"), "w") as f:
        f.write("\n".join(methods) + "\n")
    for name, have, total, _ in rows:
        print(f"{name:<28}{have:>5} / {total:<5}")


if __name__ == "__main__":
    main()
