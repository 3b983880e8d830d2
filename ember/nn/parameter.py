"""Parameter."""

__all__: list[str] = []
