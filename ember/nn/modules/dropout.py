"""dropout modules."""

__all__: list[str] = []
