"""Structured logs: one JSON object per line with the service, the worker's entrypoint
and the correlation id that follows a request through RPC and events."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from eventlet import corolocal

CORRELATION_KEY = "yilin.correlation_id"

_context = corolocal.local()

# Defence in depth for PIPL: nothing logs ID or phone numbers on purpose, and should one
# slip into a message or a traceback it is masked before the line is written.
_ID_NUMBER = re.compile(r"(?<![0-9])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(1[3-9]\d)\d{4}(\d{4})(?![0-9])")


def redact(text: str) -> str:
    """``text`` with ID numbers and mobile numbers masked."""
    return _PHONE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1**********\2", text))


def bind(**values: Any) -> None:
    """Attach values (service, correlation_id, entrypoint) to this greenthread's logs."""
    for key, value in values.items():
        setattr(_context, key, value)


class ContextFilter(logging.Filter):
    """Copies the greenthread's bound values onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in ("service", "correlation_id", "entrypoint"):
            if not hasattr(record, key):
                setattr(record, key, getattr(_context, key, None))
        return True


class StructuredFormatter(logging.Formatter):
    """JSON lines by default; ``format: text`` for people reading a terminal."""

    def __init__(self, format: str = "json") -> None:  # logging dictConfig passes it so
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        self.as_json = format != "text"

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return redact(super().format(record))
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("service", "correlation_id", "entrypoint"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        # structured fields of one line, e.g. the gateway's access log: extra={"fields": {...}}
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
