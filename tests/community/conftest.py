"""Fixtures of the registry tests, which need no Home Assistant."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: these tests use only the standard library."""


class Counter:
    """Count listener calls."""

    def __init__(self) -> None:
        """Start at zero."""
        self.calls = 0

    def __call__(self) -> None:
        """Count one call."""
        self.calls += 1
