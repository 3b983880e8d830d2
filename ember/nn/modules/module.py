"""module modules."""

__all__: list[str] = []
