"""List the keyword parameters PyTorch accepts that ember's functions and methods lack.

    python scripts/signature_diff.py [--markdown] [--include-out]

For each public name that both ember and torch have (top level, Tensor methods and
nn.functional), the parameter names of ember's ``inspect.signature`` are compared with
torch's: ``inspect.signature`` where it works (torch's Python functions), else the argument
names of the ATen operator's schemas (what the argument parser of a builtin accepts), else
the signature lines of the builtin's docstring, e.g. "flip(input, dims) -> Tensor" (every
overload a docstring lists counts; a Tensor method whose docstring says "See torch.X" also
takes torch.X's parameters after ``input``; a ``*size`` counts as the keyword ``size``).
Docstring names are sometimes not the parser's, so check a reported name in torch before
acting on it. ``out=`` is left out unless asked. An ember function taking ``**kwargs``
accepts every name and is not listed.

Prints one line per name with the missing keywords; --markdown prints a list for
docs/compat.md. Needs the test-only PyTorch.
"""

import argparse
import inspect
import keyword
import re

import torch

import ember

NAMESPACES = [
    ("torch", torch, ember),
    ("torch.Tensor", torch.Tensor, ember.Tensor),
    ("torch.nn.functional", torch.nn.functional, ember.nn.functional),
]
SKIP_PARAMS = {"self", "/", "*"}
_SIGNATURE_PREFIX = re.compile(r"^(\.\. (function|method)::\s*)?(torch\.)?(Tensor\.)?$")


def _split_top_level(text):
    """Split a parameter list on the commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _param_lists_in_doc(name, doc):
    """The parameter lists of every ``name(...)`` signature line in a docstring."""
    out = []
    for m in re.finditer(r"(?:^|[\s.:])" + re.escape(name) + r"\(", doc):
        start, depth = m.end(), 1
        for i in range(start, len(doc)):
            depth += {"(": 1, ")": -1}.get(doc[i], 0)
            if depth == 0:
                break
        else:
            continue
        rest = doc[i + 1 : i + 40].lstrip(" ")
        line_start = doc.rfind("\n", 0, m.start()) + 1
        prefix = doc[line_start : m.end() - len(name) - 1].strip()
        # a signature line: only "torch." or ".. function::" before it, "->" or EOL after
        if (rest.startswith("->") or rest.startswith("\n") or not rest) and _SIGNATURE_PREFIX.match(
            prefix
        ):
            out.append(doc[start:i])
    return out


def _names_in_param_list(text):
    names = set()
    for p in _split_top_level(text):
        p = p.split("=")[0].split(":")[0].strip()
        if p.startswith("**"):
            continue
        p = p.lstrip("*").strip()
        if p and p not in SKIP_PARAMS and p.isidentifier():
            names.add(p)
    return names


def _schema_keywords(name, is_method):
    """Argument names of the ATen operator ``name`` (the names PyTorch's argument parser
    takes, ``self`` read as ``input`` for functions), over its overloads returning tensors;
    empty when there is no such operator."""
    try:
        schemas = torch._C._jit_get_schemas_for_operator(f"aten::{name}")
    except RuntimeError:
        return set()
    names = set()
    for schema in schemas:
        if not any("Tensor" in str(r.type) for r in schema.returns):
            continue  # TorchScript's overloads on Python numbers
        for arg in schema.arguments:
            if arg.is_out:
                continue  # out= (and the named outputs of out= overloads)
            n = "input" if arg.name == "self" else arg.name
            if n.isidentifier() and not keyword.iskeyword(n):
                names.add(n)
    if is_method:
        names.discard("input")
    return names


def torch_keywords(obj, name, is_method):
    """The parameter names torch's ``obj`` accepts, or None when they cannot be read."""
    try:
        sig = inspect.signature(obj)
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return {p.name for p in sig.parameters.values() if p.kind in kinds} - SKIP_PARAMS
    except (TypeError, ValueError):
        pass
    names = _schema_keywords(name, is_method)
    if names:
        return names
    doc = getattr(obj, "__doc__", None) or ""
    lists = _param_lists_in_doc(name, doc)
    if not lists:
        return None
    names = set().union(*(_names_in_param_list(t) for t in lists))
    see = re.search(r"See :func:`torch\.(\w+)`", doc)
    if is_method and see and hasattr(torch, see.group(1)):
        func = getattr(torch, see.group(1))
        other = _param_lists_in_doc(see.group(1), getattr(func, "__doc__", None) or "")
        for t in other:
            names |= _names_in_param_list(t) - {"input"}
    return names


def ember_keywords(obj):
    """(names accepted by keyword, takes **kwargs), or None when there is no signature.
    A function's ``self`` (an in-place op written as a method) counts as ``input``."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    names, var_kw = set(), False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add("input" if p.name == "self" else p.name)
    return names - SKIP_PARAMS, var_kw


def differences(include_out=False):
    """([(qualified name, sorted missing keywords)], names compared, names not readable)
    over every namespace."""
    rows, compared, unreadable = [], 0, 0
    for label, t_ns, e_ns in NAMESPACES:
        is_method = t_ns is torch.Tensor
        for name in sorted(dir(e_ns)):
            if name.startswith("_") or not hasattr(t_ns, name):
                continue
            e_obj, t_obj = getattr(e_ns, name), getattr(t_ns, name)
            if not callable(e_obj) or not callable(t_obj) or inspect.isclass(e_obj):
                continue
            got = ember_keywords(e_obj)
            want = torch_keywords(t_obj, name, is_method)
            if got is None or want is None:
                unreadable += 1
                continue
            compared += 1
            if got[1]:
                continue
            missing = want - got[0]
            if is_method:
                missing -= {"input"}
            if not include_out:
                missing -= {"out"}
            if missing:
                rows.append((f"{label}.{name}", sorted(missing)))
    return rows, compared, unreadable


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="a list for docs/compat.md")
    parser.add_argument("--include-out", action="store_true", help="also report out=")
    args = parser.parse_args()
    rows, compared, unreadable = differences(args.include_out)
    for name, missing in rows:
        if args.markdown:
            print(f"- `{name}`: {', '.join(missing)}")
        else:
            print(f"{name}: {' '.join(missing)}")
    if not args.markdown:
        print(
            f"{len(rows)} of {compared} names compared lack keyword parameters torch has; "
            f"{unreadable} signatures could not be read"
        )


if __name__ == "__main__":
    main()
