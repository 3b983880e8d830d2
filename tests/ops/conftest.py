"""Fixtures the op tests share."""

import pytest

import ember


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(module, name)``: a list that receives, for each call of ``module.name``
    from then on, whether it returned something other than None (the fast path ran)."""

    def install(module, name):
        seen = []
        original = getattr(module, name)

        def counted(*args, **kwargs):
            result = original(*args, **kwargs)
            seen.append(result is not None)
            return result

        monkeypatch.setattr(module, name, counted)
        return seen

    return install


@pytest.fixture
def two_threads():
    """ember on two threads for the test, whatever the machine's default."""
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(before)
