"""The OpenAPI schema and its Swagger UI."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client


def test_the_schema_validates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert "/api/v1/runs/{id}/results/" in (tmp_path / "schema.yaml").read_text()


def test_every_operation_documents_its_errors():
    schema = Client().get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404"} <= codes, (method, path)
            assert any(code.startswith("2") for code in codes), (method, path)
            if method in ("post", "put", "patch"):
                assert {"413", "415"} <= codes, (method, path)
            assert "503" in codes, (method, path)  # the database unreachable (middleware)
    upload = schema["paths"]["/api/v1/runs/"]["post"]["responses"]
    assert {"202", "413", "429"} <= set(upload)


def test_an_uploads_column_map_is_a_json_object_in_the_schema():
    """It was typed as a plain string, so schema-valid text that is not a
    JSON object was refused and the object's shape went unsaid."""
    schema = Client().get("/api/schema/?format=json").json()
    column_map = schema["components"]["schemas"]["RunCreateRequest"]["properties"]["column_map"]
    assert column_map["type"] == "object"
    assert column_map["additionalProperties"] == {"type": "string"}


def test_required_text_says_it_refuses_blank_text_and_nul():
    """DRF trims a text field before it refuses it blank, and refuses NUL:
    the schema's minLength allowed "   " and "a\x00", which were 400s."""
    schema = Client().get("/api/schema/?format=json").json()
    reason = schema["components"]["schemas"]["IgnoreRequest"]["properties"]["reason"]
    bulk = schema["paths"]["/api/v1/violations/requeue/"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    by_filter = next(
        choice for choice in bulk["schema"]["oneOf"] if "filter" in choice["properties"]
    )
    target = by_filter["properties"]["filter"]["properties"]["target"]
    for text_schema in (reason, target):
        pattern = re.compile(text_schema["pattern"])
        assert [bool(pattern.search(text)) for text in (" a ", "a b", "   ", "\t\n", "a\x00")] == [
            True,
            True,
            False,
            False,
            False,
        ]


def test_swagger_ui_uses_only_local_assets():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, html[:500]
    assert all(not url.startswith(("http:", "https:", "//")) for url in urls), urls
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # No address of a CDN anywhere in the page (its CSRF token is random
    # text and may well spell "cdn").
    assert not re.search(r"//[^\s\"'<>]*(?:cdn|jsdelivr|unpkg)", html, re.IGNORECASE)
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call validator.swagger.io


@pytest.mark.django_db
def test_the_sidecar_assets_are_served_locally(settings):
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")


def test_swagger_ui_renders_in_a_browser_with_no_outside_network(page):
    """Chromium loads /api/docs/; every request is answered by Django (static
    files from the finders) and any request to another host is refused."""
    from urllib.parse import parse_qsl, urlsplit

    from django.contrib.staticfiles import finders

    client = Client(HTTP_HOST="localhost")
    outside: list[str] = []

    def answer(route, request):
        url = urlsplit(request.url)
        if url.hostname != "localhost":
            outside.append(request.url)
            return route.abort()
        if url.path.startswith("/static/"):
            found = finders.find(url.path.removeprefix("/static/"))
            if not found:
                return route.fulfill(status=404, body="")
            return route.fulfill(status=200, path=found)
        response = client.get(url.path, dict(parse_qsl(url.query)))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return route.fulfill(status=response.status_code, headers=dict(response.items()), body=body)

    page.route("**/*", answer)
    page.goto("http://localhost/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "Importer API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector("text=/api/v1/runs/", timeout=15_000)
    assert outside == []
