"""The tickets service's tables: the category catalogue, tickets, their volunteers and
their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yilin.rotation import EncryptedColumns
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
    # Beneficiary groups served (voice_rules.BENEFICIARY_GROUPS), for the reports by group.
    beneficiary_groups: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
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


# -- residents' voice: suggestions (益邻·心声) ------------------------------------------
class Suggestion(Base):
    """A resident's suggestion or urgent need, answered within a deadline. A repeat is
    merged into the first (``merged_into_id``) and its residents move with it."""

    __tablename__ = "suggestions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    topic: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)
    collected_by: Mapped[str] = mapped_column(String(64))
    collected_by_role: Mapped[str] = mapped_column(String(20))
    merged_into_id: Mapped[str | None] = mapped_column(String(36), index=True)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answer_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (Index("ix_suggestions_state_due", "state", "answer_due_at"),)


class SuggestionResident(Base):
    """A resident who raised the point: minimal and masked (the phone encrypted)."""

    __tablename__ = "suggestion_residents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    suggestion_id: Mapped[str] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), index=True)
    raised_in_id: Mapped[str] = mapped_column(String(36))  # the suggestion it was first written down in
    resident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name_masked: Mapped[str] = mapped_column(String(100))
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    phone_encrypted: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SuggestionLink(Base):
    """What the suggestion turned into: a ticket, a fund disbursement request or an
    activity, named by kind and id (the other side names the suggestion too)."""

    __tablename__ = "suggestion_links"
    suggestion_id: Mapped[str] = mapped_column(ForeignKey("suggestions.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    linked_by: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- residents' voice: mediation cases ----------------------------------------------
class MediationCase(Base):
    """A dispute mediated by a social worker: its parties, sessions and outcome."""

    __tablename__ = "mediation_cases"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    street_id: Mapped[str | None] = mapped_column(String(36), index=True)  # the community's street or town
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    social_worker_id: Mapped[str] = mapped_column(String(36))
    summary: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(12), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class MediationParty(Base):
    """One side of the dispute (a household, or a group speaking for ``people``)."""

    __tablename__ = "mediation_parties"
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    name_masked: Mapped[str] = mapped_column(String(100))
    people: Mapped[int] = mapped_column(Integer, default=1)
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # satisfaction at close, 1 to 5


class MediationSession(Base):
    __tablename__ = "mediation_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("mediation_cases.id", ondelete="CASCADE"), index=True)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(64))


# What `yilin pii rotate` re-encrypts.
ENCRYPTED = (
    EncryptedColumns("tickets", ("resident_phone_encrypted",)),
    EncryptedColumns("suggestion_residents", ("phone_encrypted",)),
)
