"""JSON log lines (settings.LOGGING uses JsonFormatter).

One JSON object per line, so a log shipper (Loki, Elasticsearch, journald)
can index fields such as ``run_id`` without parsing prose. Extra fields come
from ``logger.info(..., extra={...})``. python-json-logger does the
formatting (extras, JSON encoding of dates, enums, ...); this module adds
only the field names and the two rules below.

Exception messages are deliberately left out: an exception raised while a
row is read or validated may quote the row's values (personal data). A line
with an exception carries the exception's type and the stack (file, line,
function), which is what finds the bug; the message stays out of the logs.

Query strings can carry personal data too: the admin's search
(``?q=jane@example.com``) is in runserver's request line and in the
``request`` Django puts on django.request records. ``RedactQueryFilter``
(on the handlers in settings.LOGGING) and ``JsonFormatter`` rewrite the
values of the parameters in ``settings.IMPORTER_LOG_REDACT_PARAMS`` to
``[redacted]`` (``q=[redacted]``); the other parameters stay, so a line
still says which page and filters were asked for.
"""

from __future__ import annotations

import datetime
import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote_plus

import pythonjsonlogger.json
from django.conf import settings

REDACTED = "[redacted]"
# Parameters whose values may be personal data (a lookup such as
# email__icontains counts as its field); settings.IMPORTER_LOG_REDACT_PARAMS.
DEFAULT_REDACT_PARAMS = ("q", "search", "email", "phone", "name", "first_name", "last_name")
# One name=value pair of a query string: after "?" or "&", up to the next
# separator, blank or quote (a request's repr quotes its path).
_QUERY_PAIR = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#?\s'\"<>]+)=)(?P<value>[^&;#\s'\"<>]*)")


def exception_summary(exc_info: Any) -> dict[str, Any]:
    """The exception's type and stack, without its message (see module doc)."""
    exc_type, _exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    return {
        "exc_type": f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type else None,
        "stack": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-15:]],
    }


def _redacted_params() -> frozenset[str]:
    names = getattr(settings, "IMPORTER_LOG_REDACT_PARAMS", DEFAULT_REDACT_PARAMS)
    return frozenset(name.lower() for name in names)


def redact_query(text: str) -> str:
    """``text`` with the values of personal query parameters replaced by
    ``[redacted]``, wherever a query string appears in it."""
    if "=" not in text:
        return text
    names = _redacted_params()

    def replace(match: re.Match[str]) -> str:
        name = unquote_plus(match["name"]).split("__", 1)[0].lower()
        return match["head"] + REDACTED if name in names and match["value"] else match[0]

    return _QUERY_PAIR.sub(replace, text)


def _redact_arg(value: Any) -> Any:
    return redact_query(value) if isinstance(value, str) else value


class RedactQueryFilter(logging.Filter):
    """Rewrites a record's message and arguments (runserver's request line
    is its first argument) with ``redact_query``. On a handler it sees the
    records of every logger that reaches the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact_arg(arg) for key, arg in record.args.items()}
        return True


class _RedactingEncoder(pythonjsonlogger.json.JsonEncoder):
    """python-json-logger's encoder for values that are not JSON (a request's
    repr holds its full path), redacted; an exception as its type only;
    times to the millisecond."""

    def format_datetime_obj(self, o: Any) -> str:
        if isinstance(o, datetime.datetime):
            return o.isoformat(timespec="milliseconds")
        return super().format_datetime_obj(o)

    def default(self, o: Any) -> Any:
        if isinstance(o, BaseException):
            return f"{type(o).__module__}.{type(o).__qualname__}"
        value = super().default(o)
        return redact_query(value) if isinstance(value, str) else value


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """python-json-logger's formatter with this project's field names
    (``ts``, ``level``, ``logger``, ``msg``, then the extras) and its two
    rules: query values redacted, exceptions by type and stack only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # "ts" first in the line: listed here, it gets its place; the
        # library's timestamp option fills it in.
        kwargs.setdefault("fmt", ["ts", "levelname", "name", "message"])
        kwargs.setdefault(
            "rename_fields", {"levelname": "level", "name": "logger", "message": "msg"}
        )
        kwargs.setdefault("timestamp", "ts")
        kwargs.setdefault("json_encoder", _RedactingEncoder)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        # The library's exc_info is the formatted traceback, message included.
        log_data.pop("exc_info", None)
        if record.exc_info and record.exc_info[0] is not None:
            log_data.update(exception_summary(record.exc_info))
        for key, value in log_data.items():
            if isinstance(value, str):
                log_data[key] = redact_query(value)
