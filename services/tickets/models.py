"""The tickets service's tables: the category catalogue, tickets, their volunteers and
their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.tables import define_kit_tables, new_id, utcnow
from yilin.writes import define_rpc_requests


class Base(DeclarativeBase):
    pass


define_kit_tables(Base.metadata)
define_rpc_requests(Base.metadata)  # write RPCs' keys and answers (yilin.writes)


class Category(Base):
    """What residents can ask for, with the skill it needs and its service levels.

    ``fields`` are typed extra questions in the manner of Open311 service definitions:
    ``[{code, label, type, required, choices}]``."""

    __tablename__ = "ticket_categories"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    skill: Mapped[str] = mapped_column(String(40))
    assign_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)
    # The most minutes one volunteer may be credited for one ticket of this category.
    max_credit_minutes: Mapped[int] = mapped_column(Integer, default=480, server_default="480")
    needs_social_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    dispute: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("ticket_categories.id"), index=True)
    category_code: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Personal data: never leaves this service except masked or to staff in responses.
    resident_name: Mapped[str] = mapped_column(String(100))
    resident_phone_masked: Mapped[str | None] = mapped_column(String(11))
    resident_phone_encrypted: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    needs_social_worker: Mapped[bool] = mapped_column(Boolean, default=False)
    team_id: Mapped[str | None] = mapped_column(String(36), index=True)
    grid_id: Mapped[str | None] = mapped_column(String(36), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(36), index=True)  # a registry organisation
    social_worker_id: Mapped[str | None] = mapped_column(String(36))  # named on escalation
    social_worker_name: Mapped[str | None] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assign_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolve_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_reason: Mapped[str | None] = mapped_column(String(20))
    assign_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolve_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(String(500))
    auto_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # The timers scan open tickets by deadline; keep those scans on an index.
    __table_args__ = (
        Index("ix_tickets_state_assign_due", "state", "assign_due_at"),
        Index("ix_tickets_state_resolve_due", "state", "resolve_due_at"),
        Index("ix_tickets_community_created", "community_id", "created_at"),
    )


class TicketVolunteer(Base):
    """A volunteer named on a ticket, and the minutes they served (travel excluded)."""

    __tablename__ = "ticket_volunteers"
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    minutes: Mapped[int | None] = mapped_column(Integer)


class Transition(Base):
    """One step of a ticket's history: who moved it, when, from which state to which."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
