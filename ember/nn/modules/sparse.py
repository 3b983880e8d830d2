"""sparse modules."""

__all__: list[str] = []
