"""The listen backlog of the web servers (:mod:`yilin.frontserver`, :mod:`yilin.readserver`).

nameko listens with eventlet's default backlog of 50. When more clients connect at once
than that (200 volunteers opening their keep-alive connections in the same second, the
gateway's CPU busy with the requests already in), the kernel drops the connections that
do not fit: their first request gets no answer (``RemoteDisconnected``,
``ConnectionResetError``) although nothing failed behind the gateway. A backlog of
2,048, as gunicorn and nginx use, queues them instead (the kernel caps it at
``net.core.somaxconn``)."""

from __future__ import annotations

from typing import Any, Mapping

BACKLOG_KEY = "WEB_SERVER_BACKLOG"
DEFAULT_BACKLOG = 2048


def listen_backlog(config: Mapping[str, Any]) -> int:
    """The configured backlog (``WEB_SERVER_BACKLOG``), at least 1."""
    return max(1, int(config.get(BACKLOG_KEY) or DEFAULT_BACKLOG))
