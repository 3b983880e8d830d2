"""conv modules."""

__all__: list[str] = []
