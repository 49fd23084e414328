"""The DQ inbox while its cache (Redis) is down: the summary cards are
computed for the request instead of answering 500."""

import logging

import pytest
from django.test import Client

from common.cache import CACHE_UNREACHABLE, cache_get_or_compute

# A port nothing listens on: connecting is refused, as when Redis is down.
UNREACHABLE = "redis://127.0.0.1:1/0"


def point_the_cache_at_nothing(settings) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE,
        },
    }


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


def test_the_inbox_answers_with_its_cards_while_the_cache_is_down(
    steward_client, rules_run, settings, caplog
):
    point_the_cache_at_nothing(settings)
    caplog.set_level(logging.WARNING, logger="common.cache")
    response = steward_client.get("/admin/dq/violation/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "dq-cards" in body and "requeued</div>" in body
    assert CACHE_UNREACHABLE.split("(")[0] in caplog.text


@pytest.mark.django_db
def test_a_cache_that_works_computes_once(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert cache_get_or_compute("test:key", compute, 60) == {"n": 1}
    assert cache_get_or_compute("test:key", compute, 60) == {"n": 1}
    assert len(calls) == 1
