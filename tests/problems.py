"""Reading the API's RFC 9457 problem details in tests."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://yilin.example/problems/"


def problem(response: Any, status: int | None = None, kind: str | None = None) -> dict[str, Any]:
    """The problem details body of ``response``, checked for its media type and members
    (and, if given, its ``status`` and the slug ``kind`` of its ``type``)."""
    assert response.headers["Content-Type"].startswith("application/problem+json"), (
        response.status_code,
        response.headers.get("Content-Type"),
        response.text,
    )
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code, body
    assert body["type"].startswith(PROBLEM_BASE) and body["title"] and isinstance(body["detail"], str), body
    for error in body.get("errors", []):
        assert set(error) == {"field", "detail"} and isinstance(error["detail"], str), error
    if status is not None:
        assert response.status_code == status, (response.status_code, body)
    if kind is not None:
        assert body["type"] == PROBLEM_BASE + kind, body
    return body


def problem_fields(response: Any) -> dict[str, list[str]]:
    """The fields a problem names, by top-level name (``entries.0.minutes`` counts as
    ``entries``), each with its details."""
    out: dict[str, list[str]] = {}
    for error in problem(response).get("errors", []):
        out.setdefault(error["field"].split(".")[0], []).append(error["detail"])
    return out
