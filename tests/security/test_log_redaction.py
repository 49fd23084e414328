"""Admin search terms and other personal query parameters stay out of the
project's own log lines: runserver's request lines (django.server) and the
JSON lines of django.request, captured from the handlers settings.LOGGING
configures, for real requests."""

import contextlib
import io
import json
import logging
import threading
import urllib.error
import urllib.request

import pytest
from django.core.servers.basehttp import (
    WSGIRequestHandler,
    WSGIServer,
    get_internal_wsgi_application,
)

from importer_project.logging import REDACTED, JsonFormatter, RedactQueryFilter, redact_query
from tests.factories import NO_ROLE
from tests.security.roles import client_for

EMAIL = "jane@example.com"


@contextlib.contextmanager
def captured(logger_name: str):
    """What the configured handlers of ``logger_name`` write, in a buffer."""
    logger = logging.getLogger(logger_name)
    # Not pytest's own capturing handlers: only what settings.LOGGING set up.
    handlers = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    assert handlers, f"settings.LOGGING gives {logger_name or 'root'} no stream handler"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream)


def test_runserver_request_lines_redact_the_search_term():
    """The development server's request line, as runserver logs it."""
    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(get_internal_wsgi_application())
    port = server.server_address[1]
    thread = threading.Thread(target=server.handle_request)
    with captured("django.server") as log:
        thread.start()
        try:
            with pytest.raises(urllib.error.HTTPError):  # 404: no database needed
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/no-such-page/?q=jane%40example.com&p=2", timeout=10
                )
        finally:
            thread.join(10)
            server.server_close()
    line = log.getvalue()
    assert "/no-such-page/?q=[redacted]&p=2 HTTP/1.1" in line and " 404 " in line
    assert "jane" not in line


@pytest.mark.django_db
def test_django_request_lines_redact_the_search_term():
    """A refused admin search logs a warning with the request on it; the
    JSON line (message and the request extra) keeps the path, not the term."""
    with captured("") as log:
        response = client_for(NO_ROLE).get(
            "/admin/core/organization/", {"q": EMAIL, "email__icontains": EMAIL, "o": "1"}
        )
    assert response.status_code == 403
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    forbidden = [line for line in lines if line["logger"] == "django.request"]
    assert forbidden and "/admin/core/organization/" in forbidden[0]["msg"]
    assert (
        "q=[redacted]" in forbidden[0]["request"]
        and "email__icontains=[redacted]" in forbidden[0]["request"]
    )
    assert "o=1" in forbidden[0]["request"]
    assert "jane" not in log.getvalue()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("GET /admin/?q=jane%40example.com HTTP/1.1", f"GET /admin/?q={REDACTED} HTTP/1.1"),
        ("/admin/?status=open&q=Jane+Doe&p=3", f"/admin/?status=open&q={REDACTED}&p=3"),
        (
            "/admin/core/contact/?email__iexact=a%40b.c",
            f"/admin/core/contact/?email__iexact={REDACTED}",
        ),
        ("/admin/?%71=jane", f"/admin/?%71={REDACTED}"),  # %71 is q
        ("<WSGIRequest: GET '/admin/?q=jane'>", f"<WSGIRequest: GET '/admin/?q={REDACTED}'>"),
        ("/admin/?q=&p=2", "/admin/?q=&p=2"),
        (
            "/api/v1/runs/?status=failed&target=contact",
            "/api/v1/runs/?status=failed&target=contact",
        ),
        ("rows=12 quarantined=3", "rows=12 quarantined=3"),
    ],
)
def test_redact_query(text, expected):
    assert redact_query(text) == expected


def test_the_parameters_come_from_settings(settings):
    settings.IMPORTER_LOG_REDACT_PARAMS = ["external_id"]
    assert redact_query("/x/?external_id=E-1&q=jane") == f"/x/?external_id={REDACTED}&q=jane"


def test_the_filter_rewrites_message_and_arguments_and_the_formatter_extras():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /?q=jane HTTP/1.1", "200", "5"),
        None,
    )
    record.path = "/?q=jane"
    assert RedactQueryFilter().filter(record) is True
    line = json.loads(JsonFormatter().format(record))
    assert (
        line["msg"] == f'"GET /?q={REDACTED} HTTP/1.1" 200 5' and line["path"] == f"/?q={REDACTED}"
    )
