"""The category catalogue's SQL."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tickets.models import Category
from yilin.errors import NotFound
from yilin.paging import paginate
from yilin.rows import lock_or_404


class CategoryStore:
    """The catalogue's reads and writes within one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def code_taken(self, code: str) -> bool:
        """Whether a category (active or not) has ``code``. Locks nothing."""
        return self.session.scalar(select(Category.id).where(Category.code == code)) is not None

    def add(self, data: dict[str, Any]) -> Category:
        """A new category from ``data``, flushed so it has its id."""
        category = Category(**data)
        self.session.add(category)
        self.session.flush()
        return category

    def category(self, category_id: Any) -> Category:
        """The category, or :class:`NotFound` naming ``category_id``. Locks nothing."""
        category = self.session.get(Category, str(category_id))
        if category is None:
            raise NotFound(f"category {category_id} does not exist", {"category_id": ["not found"]})
        return category

    def lock(self, category_id: Any) -> Category:
        """The category read afresh and locked (``FOR UPDATE``) until the transaction
        ends, or :class:`NotFound` naming ``category_id``."""
        return lock_or_404(self.session, Category, category_id, "category_id", "category")

    def flush(self) -> None:
        """Write pending changes to loaded categories (inside the transaction)."""
        self.session.flush()

    def page(
        self, query: dict[str, Any], render: Callable[[Sequence[Category]], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        """One page of categories (``active`` filter, ``cursor``, ``limit``), rendered."""
        stmt = select(Category)
        if query.get("active") is not None:
            stmt = stmt.where(Category.active == query["active"])
        return paginate(self.session, stmt, Category.id, query["limit"], query.get("cursor"), render)

    def by_code(self, code: str) -> Category | None:
        """The category with ``code`` (active or retired), or ``None``. Locks nothing."""
        return self.session.scalar(select(Category).where(Category.code == code))
