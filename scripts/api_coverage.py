"""Measure ember's coverage of PyTorch's public API, from the test-only PyTorch.

    python scripts/api_coverage.py [--torchvision-src DIR]
        # rewrite docs/compat.md's coverage section and ember/cli/torch_tensor_methods.txt

For each namespace, the public names PyTorch exposes and which of them ember has.
torchvision's names are read from its source without importing it (its compiled ops must
match the installed PyTorch build exactly): point --torchvision-src at the `torchvision`
folder of an unpacked wheel, e.g. `pip download --no-deps torchvision==0.28.0` and unzip it.
"""

import argparse
import ast
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
    ("torch.fft", "ember.fft"),
    ("torch.special", "ember.special"),
    ("torch.fx", "ember.fx"),
    ("torch.func", "ember.func"),
    ("torch.distributions", "ember.distributions"),
    ("torch.jit", "ember.jit"),
    ("torch.onnx", "ember.onnx"),
    ("torch.ao.quantization", "ember.ao.quantization"),
]
TORCHVISION = [
    ("torchvision.transforms", "ember.vision.transforms", ["transforms/transforms.py"]),
    ("torchvision.datasets", "ember.vision.datasets", ["datasets/__init__.py"]),
    ("torchvision.models", "ember.vision.models", None),  # the star-imported model families
]
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"


def _static_all(path):
    """The literal ``__all__`` of a Python file, read without running it."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        targets = getattr(node, "targets", [])
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in targets):
            # the string literals in it (some files build __all__ from several tuples)
            return [
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
    return []


def _model_files(src):
    with open(os.path.join(src, "models", "__init__.py")) as f:
        tree = ast.parse(f.read())
    return [
        f"models/{node.module}.py"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        and any(alias.name == "*" for alias in node.names)
    ]  # fmt: skip


def torchvision_coverage(src):
    rows = []
    for tv_name, ember_name, files in TORCHVISION:
        files = files if files is not None else _model_files(src)
        theirs = sorted({n for f in files for n in _static_all(os.path.join(src, f))})
        ours_obj = _resolve(ember_name)
        have = [n for n in theirs if _has(ours_obj, n)]
        missing = [n for n in theirs if n not in set(have)]
        rows.append((tv_name, len(have), len(theirs), missing))
    return rows


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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torchvision-src", help="the torchvision folder of an unpacked wheel")
    args = p.parse_args()
    sys.path.insert(0, ROOT)
    import torch

    rows = coverage()
    if args.torchvision_src:
        rows += torchvision_coverage(args.torchvision_src)
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
