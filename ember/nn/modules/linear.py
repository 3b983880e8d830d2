"""linear modules."""

__all__: list[str] = []
