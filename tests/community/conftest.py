"""Fixtures of the registry tests, which need no Home Assistant."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: these tests use only the standard library."""
