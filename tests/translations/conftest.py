"""Texts saved by one test never reach the next (the overrides are per process)."""
import pytest

from bot.translations import store


@pytest.fixture(autouse=True)
def _forget_saved_texts():
    store.forget()
    yield
    store.forget()
