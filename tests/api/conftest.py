"""Token clients per role, and a cache of its own for every test."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import token_client


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """Throttle counts live in the cache (Redis under REDIS_URL): give every
    test its own key prefix so counts never leak between tests or runs."""
    caches = {alias: {**config} for alias, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture
def api():
    """``api(role)`` → a token-authenticated client for that role."""
    return token_client
