"""The gateway's format rules in isolation: If-Match parsing, entity tags, sealed cursors
and the flattening of field errors into problem details."""

from __future__ import annotations

import pytest

from services.gateway.conditional import if_match
from services.gateway.cursors import seal, unseal
from services.gateway.problems import (
    BASE,
    CATALOGUE,
    InvalidCursor,
    InvalidPrecondition,
    PreconditionRequired,
    field_errors,
    problem,
)
from yilin.errors import InvalidInput, PreconditionFailed
from yilin.etags import entity_tag, require_match

KEY = b"k" * 32


def test_if_match_keeps_strong_tags_and_refuses_malformed_headers() -> None:
    assert if_match('"a"') == ['"a"']
    assert if_match(' "a" , W/"b", "c"') == ['"a"', '"c"']  # weak tags never match (strong comparison)
    assert if_match("*") == ["*"]
    with pytest.raises(PreconditionRequired):
        if_match(None)
    for malformed in ("", "a", '"a', '"a" "b"', '"a",', "W/a", '"a\x00"'):
        with pytest.raises(InvalidPrecondition):
            if_match(malformed)


def test_entity_tags_follow_the_representation_not_its_key_order() -> None:
    tag = entity_tag({"a": 1, "b": [1, 2]})
    assert tag == entity_tag({"b": [1, 2], "a": 1}) and tag.startswith('"') and tag.endswith('"')
    assert tag != entity_tag({"a": 2, "b": [1, 2]})
    require_match([tag], {"a": 1, "b": [1, 2]})
    require_match(["*"], {"anything": True})
    require_match(None, {"unconditional": True})
    for stale in ([entity_tag({"a": 2})], []):
        with pytest.raises(PreconditionFailed):
            require_match(stale, {"a": 1, "b": [1, 2]})


def test_a_cursor_opens_only_with_its_key_and_list() -> None:
    cursor = seal(KEY, "/api/v1/volunteers", "0a1b")
    assert "0a1b" not in cursor and unseal(KEY, "/api/v1/volunteers", cursor) == "0a1b"
    for scope, key, text in (
        ("/api/v1/places", KEY, cursor),
        ("/api/v1/volunteers", b"other" * 8, cursor),
        ("/api/v1/volunteers", KEY, cursor[:-2]),
        ("/api/v1/volunteers", KEY, "0a1b"),
        ("/api/v1/volunteers", KEY, "%%%"),
        ("/api/v1/volunteers", KEY, ""),
    ):
        with pytest.raises(InvalidCursor) as refused:
            unseal(key, scope, text)
        assert "cursor" in refused.value.fields


def test_field_errors_are_flat_dotted_paths() -> None:
    nested = {"entries": {"0": {"minutes": ["too many"]}}, "_schema": ["expected an object"], "name": ["a", "b"]}
    assert field_errors(nested) == [
        {"field": "entries.0.minutes", "detail": "too many"},
        {"field": "body", "detail": "expected an object"},
        {"field": "name", "detail": "a"},
        {"field": "name", "detail": "b"},
    ]
    body = problem(InvalidInput("invalid input in: name", {"name": ["required"]}), "/api/v1/places")
    assert body == {
        "type": CATALOGUE["invalid_input"].uri,
        "title": "Invalid input",
        "status": 422,
        "detail": "invalid input in: name",
        "instance": "/api/v1/places",
        "errors": [{"field": "name", "detail": "required"}],
    }
    assert all(t.uri.startswith(BASE) and "_" not in t.uri for t in CATALOGUE.values())  # slugs, not codes
