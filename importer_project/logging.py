"""JSON log lines (settings.LOGGING uses JsonFormatter).

One JSON object per line, so a log shipper (Loki, Elasticsearch, journald)
can index fields such as ``run_id`` without parsing prose. Extra fields come
from ``logger.info(..., extra={...})``.

Exception messages are deliberately left out: an exception raised while a
row is read or validated may quote the row's values (personal data). A line
with an exception carries the exception's type and the stack (file, line,
function), which is what finds the bug; the message stays out of the logs.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import datetime, timezone
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}


def exception_summary(exc_info: Any) -> dict[str, Any]:
    """The exception's type and stack, without its message (see module doc)."""
    exc_type, _exc, tb = exc_info
    frames = traceback.extract_tb(tb)
    return {
        "exc_type": f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type else None,
        "stack": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames[-15:]],
    }


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line.update(exception_summary(record.exc_info))
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)
