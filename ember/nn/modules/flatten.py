"""flatten modules."""

__all__: list[str] = []
