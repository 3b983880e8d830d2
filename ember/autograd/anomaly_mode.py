"""Anomaly detection: remember where each op was created and name it when backward makes NaN."""

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]

ENABLED = [False]


def is_anomaly_enabled():
    return ENABLED[0]


class set_detect_anomaly:
    """Turn anomaly detection on or off (takes effect at once, also usable with ``with``)."""

    def __init__(self, mode, check_nan=True):
        self._prev = ENABLED[0]
        ENABLED[0] = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        ENABLED[0] = self._prev
        return False


class detect_anomaly(set_detect_anomaly):
    """Context manager that turns anomaly detection on for its block."""

    def __init__(self, check_nan=True):
        self._check_nan = check_nan

    def __enter__(self):
        self._prev = ENABLED[0]
        ENABLED[0] = True
        return self
