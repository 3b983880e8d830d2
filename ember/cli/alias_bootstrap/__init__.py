"""A folder that ``ember run`` puts first on ``sys.path`` and ``PYTHONPATH``, so that processes
a script starts also get ember for ``import torch`` and ``import torchvision``.

The program itself has ember's import hook installed in-process; a child process starts with
none. Python's multiprocessing gives spawn and forkserver children the parent's ``sys.path``
before it re-imports the main script, and any other Python child inherits ``PYTHONPATH``; in
either case the first ``import torch`` finds the ``torch`` package here, which installs the hook
and puts the alias in its place. Shadowing by name is used rather than a ``sitecustomize``
module (of which only one is imported, so it would hide a distribution's own) or a ``.pth``
file (which would change every Python run in the environment, not just this program's).
"""
