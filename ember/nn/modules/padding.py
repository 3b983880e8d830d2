"""padding modules."""

__all__: list[str] = []
