"""The category catalogue and the check of a ticket's answers to a category's typed
extra fields (Open311-style service definitions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.tickets.models import Category
from services.tickets.store.categories import CategoryStore
from yilin.db import UnitOfWork
from yilin.errors import Conflict, InvalidInput
from yilin.etags import Precondition, no_precondition


def category_view(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "code": category.code,
        "name": category.name,
        "skill": category.skill,
        "assign_minutes": category.assign_minutes,
        "resolve_minutes": category.resolve_minutes,
        "max_credit_minutes": category.max_credit_minutes,
        "needs_social_worker": category.needs_social_worker,
        "dispute": category.dispute,
        "fields": list(category.fields or []),
        "active": category.active,
    }


def create_category(uow: UnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    store = CategoryStore(uow.session)
    if store.code_taken(data["code"]):
        raise Conflict(f"category {data['code']} already exists", {"code": ["already exists"]})
    category = store.add(data)
    uow.note("category.created", {"category_id": category.id})  # publishes no event: the audit row says it
    return category_view(category)


def get_category(session: Session, category_id: Any) -> dict[str, Any]:
    return category_view(CategoryStore(session).category(category_id))


def update_category(
    uow: UnitOfWork, category_id: Any, patch: dict[str, Any], precondition: Precondition = no_precondition
) -> dict[str, Any]:
    store = CategoryStore(uow.session)
    category = store.lock(category_id)
    precondition(category_view(category))  # under the lock: a concurrent update waits
    assign = patch.get("assign_minutes", category.assign_minutes)
    if patch.get("resolve_minutes", category.resolve_minutes) < assign:
        raise InvalidInput(
            "resolve_minutes cannot be shorter than assign_minutes",
            {"resolve_minutes": ["cannot be shorter than assign_minutes"]},
        )
    for key, value in patch.items():
        setattr(category, key, value)
    store.flush()
    uow.note("category.updated", {"category_id": category.id, "fields": sorted(patch)})
    return category_view(category)


def list_categories(session: Session, query: dict[str, Any]) -> dict[str, Any]:
    return CategoryStore(session).page(query, lambda rows: [category_view(c) for c in rows])


def category_by_code(session: Session, code: str) -> Category:
    """An active category; unknown or retired codes are the caller's input error."""
    category = CategoryStore(session).by_code(code)
    if category is None or not category.active:
        raise InvalidInput(f"unknown ticket category {code}", {"category_code": [f"unknown category {code}"]})
    return category


def _check_value(field: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """The stored form of one answer, or an error message."""
    kind = field["type"]
    if kind == "string":
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            return None, "must be a non-empty string of at most 500 characters"
        return value, None
    if kind == "number":
        # bool is an int in Python but never a number a resident meant
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "must be a number"
        return value, None
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None, "must be an ISO 8601 date and time"
        if parsed.tzinfo is None:
            return None, "must carry a time zone"
        return parsed.isoformat(), None
    choices = field.get("choices") or []
    if kind == "single_choice":
        if value not in choices:
            return None, f"must be one of: {', '.join(choices)}"
        return value, None
    if (
        not isinstance(value, list)
        or not value
        or any(v not in choices for v in value)
        or len(set(value)) != len(value)
    ):
        return None, f"must be a non-empty list of distinct choices from: {', '.join(choices)}"
    return value, None


def check_attributes(category: Category, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers to ``category``'s extra fields, checked by type; every problem is
    reported under ``attributes.<field code>``."""
    definitions = {f["code"]: f for f in category.fields or []}
    errors: dict[str, list[str]] = {}
    checked: dict[str, Any] = {}
    for code in answers:
        if code not in definitions:
            errors[code] = [f"not a field of category {category.code}"]
    for code, field in definitions.items():
        value = answers.get(code)
        if value is None or value == "" or value == []:
            if field.get("required"):
                errors[code] = ["required"]
            continue
        stored, problem = _check_value(field, value)
        if problem:
            errors[code] = [problem]
        else:
            checked[code] = stored
    if errors:
        raise InvalidInput(
            f"invalid answers for category {category.code}: {', '.join(sorted(errors))}", {"attributes": errors}
        )
    return checked
