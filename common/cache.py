"""The default cache (Redis under REDIS_URL) as an optimisation only: when
it cannot be reached, callers compute the value instead of failing. The
upload throttle (common.api.UploadThrottle) lets the upload
through on the same errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a cache that is down or hangs raises: the Redis backend's connection
# refused, reset or timed out (RedisError), or a socket error it lets
# through (OSError).
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
CACHE_UNREACHABLE = "Cache unreachable ({error}); {key!r} computed without it."


def cache_get_or_compute(key: str, compute: Callable[[], T], timeout: int) -> T:
    """cache.get_or_set, except that a cache error computes the value (and
    logs a warning) rather than raising: a page must not answer 500 because
    its cache is down."""
    try:
        value = cache.get(key)
    except CACHE_ERRORS as exc:
        logger.warning(CACHE_UNREACHABLE.format(error=exc, key=key))
        return compute()
    if value is not None:
        return value
    value = compute()
    try:
        cache.set(key, value, timeout)
    except CACHE_ERRORS as exc:
        logger.warning(CACHE_UNREACHABLE.format(error=exc, key=key))
    return value
