"""ember's graph compiler, behind ``ember.compile``.

``frontend`` checks the settings and wraps the target; ``compiled`` keeps one compiled graph
per guard key (``guards``); ``capture`` records the target as an ``ember.fx`` graph and notes
what each node computes on the first call; ``fusion`` replaces chains of elementwise nodes
(``primitives``) with ``kernel.FusedKernel`` calls, whose expressions (``expr``) are turned
into NumPy code (``codegen``) with a backward derived symbolically (``derivative``).
Everything else in the graph runs as the eager ember call it was.
"""
