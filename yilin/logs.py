"""Structured logs: one JSON object per line with the service, the worker's entrypoint
and the correlation id that follows a request through RPC and events."""

from __future__ import annotations

import json
import logging
import os
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


# Free text (names, addresses, descriptions a resident dictated) has no shape a pattern
# could find, so it is recognised by the field that holds it: a value under one of these
# keys never reaches a log line, whether in a structured field, a dict or JSON written into
# a message or traceback, or ``key=value``.
FREE_TEXT_KEYS = frozenset(
    {
        "name",
        "full_name",
        "resident_name",
        "volunteer_name",
        "party_names",
        "address",
        "description",
        "text",
        "content",
        "comment",
        "remark",
        "reason",
        "note",
        "purpose",
        "answer",
        "contact",
        "person_in_charge",
        "phone",
        "id_number",
    }
)
REDACTED = "[redacted]"
_KEYS = "|".join(sorted(FREE_TEXT_KEYS, key=len, reverse=True))
# 'key': 'value' / "key": "value" (a dict's repr, JSON), the value quoted either way
_QUOTED = re.compile(rf"""(?P<k>(?P<q>["'])(?:{_KEYS})(?P=q)\s*:\s*)(?P<v>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
# key=value, key='value' (keyword arguments, query strings)
_ASSIGNED = re.compile(rf"""(?P<k>(?<![\w.])(?:{_KEYS})=)(?P<v>"[^"]*"|'[^']*'|[^\s,;&)\]}}]+)""")
# PostgreSQL's DETAIL of a constraint: Key (column, …)=(value, …)
_PG_KEY = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^()]*\))*\)")


def redact(text: str) -> str:
    """``text`` with ID numbers and mobile numbers masked, and the values of free-text
    fields (:data:`FREE_TEXT_KEYS`) and of constraint details replaced."""
    text = _QUOTED.sub(lambda m: f"{m['k']}{m['v'][0]}{REDACTED}{m['v'][0]}", text)
    text = _ASSIGNED.sub(lambda m: f"{m['k']}{REDACTED}", text)
    text = _PG_KEY.sub(rf"\1=({REDACTED})", text)
    return _PHONE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1**********\2", text))


def redact_value(key: str, value: Any) -> Any:
    """A structured log field as it may be written: free-text fields replaced, text redacted."""
    if key in FREE_TEXT_KEYS and value is not None:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(key, v) for v in value]
    return value


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
            entry.setdefault(key, redact_value(key, value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RandomIds:
    """Callable: random (version 4) UUIDs as text, drawn from one ``getrandom`` per 256 of them:
    ``str(uuid.uuid4())`` made a system call and a ``UUID`` object for every request."""

    BATCH = 16 * 256

    def __init__(self) -> None:
        self._pool, self._at = b"", 0

    def __call__(self) -> str:
        """A new id, ``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx``."""
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(self.BATCH), 0
        digits = self._pool[self._at : self._at + 16].hex()
        self._at += 16
        variant = "89ab"[int(digits[16], 16) & 3]
        return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


new_correlation_id = RandomIds()  # a request's id when its caller sent none
