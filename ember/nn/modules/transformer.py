"""transformer modules."""

__all__: list[str] = []
