"""loss modules."""

__all__: list[str] = []
