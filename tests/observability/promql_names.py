"""Pulls metric names and their label matchers out of PromQL text.

Not a full PromQL parser: it knows enough of the grammar (strings, label
matchers, ranges, grouping clauses, function calls, Grafana variables) to find
every selector in the expressions this repository writes. The live-server test
sends the same expressions to a real Prometheus, which rejects anything this
reading would misunderstand as a syntax error.
"""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$\w+")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_DURATION = re.compile(r"\b\d+(?:ms|[smhdwy])\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(.*),)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)

KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
        "Inf",
        "NaN",
        "atan2",
    }
)


def _blank_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects."""
    text = _blank_strings(_GRAFANA_VAR.sub("1m", expr))
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    text = _DURATION.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(0)
        if word in KEYWORDS or re.match(r"\s*\(", text[match.end() :]):
            continue  # operator keyword or function call
        names.add(word)
    # A selector may also be written with only a {__name__=...} matcher; we don't.
    return names


def selector_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names it matches on) for each `name{...}` selector."""
    text = _blank_strings(expr)
    return [(m.group(1), set(_MATCHER.findall(m.group(2)))) for m in _SELECTOR.finditer(text)]


def grafana_query_expr(query: str) -> str | None:
    """The PromQL inside a Grafana variable query, or None if it selects no series."""
    match = _LABEL_VALUES.match(query)
    if match:
        return match.group(1)
    if re.match(r"^\s*(label_names|metrics)\(", query):
        return None
    if re.match(r"^\s*query_result\(", query):
        return query.strip()[len("query_result(") : -1]
    return query
