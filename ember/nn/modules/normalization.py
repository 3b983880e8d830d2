"""normalization modules."""

__all__: list[str] = []
