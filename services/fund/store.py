"""All of the fund's SQL: the rows its operations read and write, the row locks that keep
approvals, payments and pools consistent, and the ledger's aggregates.

Two kinds of lock are taken, each until the transaction ends (``SELECT … FOR UPDATE``):
a disbursement's row, so concurrent approvals and payments of one request queue up; and
the balance rows of a posting's two accounts, in id order so two postings cannot
deadlock, so two payments cannot overdraw a pool together. SQLite has one writer at a
time, which serialises the same work. Nothing else here locks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from services.fund.models import (
    Account,
    Approval,
    ClientRequest,
    Disbursement,
    Enterprise,
    Entry,
    ProfitReport,
    Transfer,
)
from yilin.db import insert_ignoring_conflicts
from yilin.errors import NotFound
from yilin.identity import Identity
from yilin.paging import paginate
from yilin.rows import get_or_404
from yilin.tables import new_id, utcnow

Render: TypeAlias = Callable[[Sequence[Any]], list[dict[str, Any]]]
Page: TypeAlias = dict[str, Any]  # ``{"items": [...], "next_cursor": str | None}`` (yilin.paging)


class FundStore:
    """The fund's reads and writes within one session (one transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def flush(self) -> None:
        """Write the changes made to rows this transaction holds (no lock of its own)."""
        self.session.flush()

    # -- enterprises ------------------------------------------------------------------
    def enterprise_code_taken(self, code: str) -> bool:
        """Whether an enterprise already has ``code``."""
        return self.session.scalar(select(Enterprise.id).where(Enterprise.code == code)) is not None

    def organisation_registered(self, organisation_id: str) -> bool:
        """Whether the registry's organisation ``organisation_id`` is already an enterprise."""
        return bool(self.session.scalar(select(Enterprise.id).where(Enterprise.organisation_id == organisation_id)))

    def add_enterprise(self, **columns: Any) -> Enterprise:
        """The new enterprise, flushed (so it has its id)."""
        enterprise = Enterprise(**columns)
        self.session.add(enterprise)
        self.session.flush()
        return enterprise

    def enterprise(self, enterprise_id: Any) -> Enterprise:
        """The enterprise, or ``NotFound`` naming ``enterprise_id``."""
        return get_or_404(self.session, Enterprise, enterprise_id, "enterprise_id", "enterprise")

    def enterprise_of(self, report: ProfitReport) -> Enterprise:
        """The enterprise that filed ``report`` (its foreign key guarantees one)."""
        return self.session.get_one(Enterprise, report.enterprise_id)

    def list_enterprises(self, query: dict[str, Any], render: Render) -> Page:
        """One page of enterprises, filtered by community and owner."""
        stmt = select(Enterprise)
        if query.get("community_id"):
            stmt = stmt.where(Enterprise.community_id == str(query["community_id"]))
        if query.get("owner_organisation_id"):
            stmt = stmt.where(Enterprise.owner_organisation_id == str(query["owner_organisation_id"]))
        return paginate(self.session, stmt, Enterprise.id, query["limit"], query.get("cursor"), render)

    # -- profit reports ---------------------------------------------------------------
    def report(self, report_id: Any) -> ProfitReport:
        """The report version, or ``NotFound`` naming ``report_id``."""
        return get_or_404(self.session, ProfitReport, report_id, "report_id", "profit report")

    def filed_report(self, report_id: str) -> ProfitReport:
        """A report version this service wrote (named by a kept answer or a transfer)."""
        return self.session.get_one(ProfitReport, report_id)

    def latest_report(self, enterprise_id: str, fiscal_year: int) -> ProfitReport | None:
        """The highest version of the enterprise's report for the year, if it filed one."""
        return self.session.scalars(
            select(ProfitReport)
            .where(ProfitReport.enterprise_id == enterprise_id, ProfitReport.fiscal_year == fiscal_year)
            .order_by(ProfitReport.version.desc())
            .limit(1)
        ).first()

    def add_report(self, **columns: Any) -> ProfitReport:
        """The new report version, flushed (so it has its id)."""
        report = ProfitReport(**columns)
        self.session.add(report)
        self.session.flush()
        return report

    def list_reports(
        self,
        query: dict[str, Any],
        render: Render,
        *,
        enterprise_id: str | None = None,
        represented_by: Identity | None = None,
    ) -> Page:
        """One page of report versions: of ``enterprise_id`` when given, else of the
        enterprises whose organisation is, operates or owns the organisation of the
        representative ``represented_by``, else all; filtered by fiscal year."""
        stmt = select(ProfitReport)
        if enterprise_id is not None:
            stmt = stmt.where(ProfitReport.enterprise_id == enterprise_id)
        elif represented_by is not None:
            organisation_id = represented_by.organisation_id
            own = select(Enterprise.id).where(
                (Enterprise.id == organisation_id)
                | (Enterprise.organisation_id == organisation_id)
                | (Enterprise.owner_organisation_id == organisation_id)
            )
            stmt = stmt.where(ProfitReport.enterprise_id.in_(own))
        if query.get("fiscal_year"):
            stmt = stmt.where(ProfitReport.fiscal_year == query["fiscal_year"])
        return paginate(self.session, stmt, ProfitReport.id, query["limit"], query.get("cursor"), render)

    # -- disbursements ----------------------------------------------------------------
    def add_disbursement(self, **columns: Any) -> Disbursement:
        """The new request, flushed (so it has its id)."""
        disbursement = Disbursement(**columns)
        self.session.add(disbursement)
        self.session.flush()
        return disbursement

    def disbursement(self, disbursement_id: Any) -> Disbursement:
        """The request, or ``NotFound`` naming ``disbursement_id``."""
        return get_or_404(self.session, Disbursement, disbursement_id, "disbursement_id", "disbursement")

    def paid_disbursement(self, disbursement_id: str) -> Disbursement:
        """A request this service wrote (named by a kept answer or a transfer)."""
        return self.session.get_one(Disbursement, disbursement_id)

    def lock_disbursement(self, disbursement_id: Any) -> Disbursement:
        """The request, read afresh and locked until commit so concurrent approvals and
        payments queue up; ``NotFound`` naming ``disbursement_id``."""
        row = self.session.scalars(
            select(Disbursement)
            .where(Disbursement.id == str(disbursement_id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if row is None:
            raise NotFound(f"disbursement {disbursement_id} does not exist", {"disbursement_id": ["not found"]})
        return row

    def list_disbursements(self, query: dict[str, Any], render: Render) -> Page:
        """One page of requests, filtered by community, status and category."""
        stmt = select(Disbursement)
        for name in ("community_id", "status", "category"):
            if query.get(name):
                stmt = stmt.where(getattr(Disbursement, name) == str(query[name]))
        return paginate(self.session, stmt, Disbursement.id, query["limit"], query.get("cursor"), render)

    def count_disbursements(self, statuses: Iterable[str]) -> int:
        """How many requests are in one of ``statuses``."""
        stmt = select(func.count()).select_from(Disbursement).where(Disbursement.status.in_(list(statuses)))
        return int(self.session.scalar(stmt) or 0)

    # -- approvals --------------------------------------------------------------------
    def approvers(self, disbursement_id: str) -> list[str]:
        """Who approved the request, in the order they did."""
        return list(
            self.session.scalars(
                select(Approval.approver)
                .where(Approval.disbursement_id == disbursement_id)
                .order_by(Approval.created_at, Approval.approver)
            )
        )

    def has_approved(self, disbursement_id: str, approver: str) -> bool:
        """Whether ``approver`` already approved the request."""
        return self.session.get(Approval, (disbursement_id, approver)) is not None

    def add_approval(self, disbursement_id: str, approver: str, recorded_by: str) -> None:
        """Record one approval, flushed (its primary key refuses a second by the same person)."""
        self.session.add(Approval(disbursement_id=disbursement_id, approver=approver, recorded_by=recorded_by))
        self.session.flush()

    def approval_count(self, disbursement_id: str) -> int:
        """How many approvals the request has."""
        stmt = select(func.count()).select_from(Approval).where(Approval.disbursement_id == disbursement_id)
        return int(self.session.scalar(stmt) or 0)

    # -- client-supplied ids ----------------------------------------------------------
    def client_request(self, key: str) -> ClientRequest | None:
        """What was kept for the client id ``key``, if it was used."""
        return self.session.get(ClientRequest, key)

    def keep_client_request(self, key: str, operation: str, digest: str, response: dict[str, Any]) -> None:
        """Keep the answer to ``key`` (written at the next flush; its primary key refuses a
        second request racing this one)."""
        self.session.add(ClientRequest(id=key, operation=operation, body_hash=digest, response=response))

    # -- accounts ---------------------------------------------------------------------
    def open_account(
        self,
        code: str,
        kind: str,
        community_id: str,
        *,
        enterprise_id: str | None = None,
        category: str | None = None,
    ) -> Account:
        """The account ``code``, opened on first use (concurrent openers do not collide:
        the insert ignores a conflict on the code, then the row is read)."""
        existing = self.session.scalar(select(Account).where(Account.code == code))
        if existing is not None:
            return existing
        table: Any = Account.__table__
        self.session.execute(
            insert_ignoring_conflicts(self.session, table).values(
                id=new_id(),
                code=code,
                kind=kind,
                community_id=community_id,
                enterprise_id=enterprise_id,
                category=category,
                balance_fen=0,
                created_at=utcnow(),
            )
        )
        return self.session.scalars(select(Account).where(Account.code == code)).one()

    def account_id(self, code: str) -> str | None:
        """The id of the account ``code``, if it was opened."""
        return self.session.scalar(select(Account.id).where(Account.code == code))

    def balance(self, code: str) -> int:
        """The stored balance (debits − credits) of the account ``code``; 0 if not opened."""
        return int(self.session.scalar(select(Account.balance_fen).where(Account.code == code)) or 0)

    def pools_total(self) -> int:
        """The sum of every pool's stored balance."""
        stmt = select(func.coalesce(func.sum(Account.balance_fen), 0)).where(Account.kind == "pool")
        return int(self.session.scalar(stmt) or 0)

    def accounts(self) -> list[Account]:
        """Every account, by code."""
        return list(self.session.scalars(select(Account).order_by(Account.code)))

    def account_codes(self, account_ids: set[str]) -> dict[str, str]:
        """The codes of these accounts, by id."""
        if not account_ids:
            return {}
        rows = self.session.execute(select(Account.id, Account.code).where(Account.id.in_(account_ids))).all()
        return {account_id: code for account_id, code in rows}

    def lock_accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """These accounts by id, read afresh and locked until commit, in id order (so two
        postings locking the same pair cannot deadlock)."""
        rows = self.session.scalars(
            select(Account)
            .where(Account.id.in_(list(account_ids)))
            .order_by(Account.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {a.id: a for a in rows}

    # -- transfers and entries --------------------------------------------------------
    def transfer_exists(self, transfer_id: str) -> bool:
        """Whether a transfer already has this id."""
        return self.session.get(Transfer, transfer_id) is not None

    def write_transfer(
        self,
        transfer_id: str,
        kind: str,
        debit: Account,
        credit: Account,
        amount_fen: int,
        community_id: str,
        reference_id: str,
    ) -> Transfer:
        """Write the transfer, its debit and credit entries and both balances, then read
        the two accounts afresh. The caller holds both accounts' locks
        (:meth:`lock_accounts`) and checked the amount."""
        now = utcnow()
        transfer = Transfer(
            id=transfer_id,
            kind=kind,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_fen=amount_fen,
            community_id=community_id,
            reference_id=reference_id,
            posted_at=now,
        )
        self.session.add(transfer)
        self.session.flush()
        self.session.add_all(
            [
                Entry(transfer_id=transfer_id, account_id=debit.id, side="debit", amount_fen=amount_fen, posted_at=now),
                Entry(
                    transfer_id=transfer_id, account_id=credit.id, side="credit", amount_fen=amount_fen, posted_at=now
                ),
            ]
        )
        balance = Account.balance_fen
        self.session.execute(update(Account).where(Account.id == debit.id).values(balance_fen=balance + amount_fen))
        self.session.execute(update(Account).where(Account.id == credit.id).values(balance_fen=balance - amount_fen))
        self.session.flush()
        for row in {debit.id: debit, credit.id: credit}.values():
            self.session.refresh(row)
        return transfer

    def list_transfers(self, query: dict[str, Any], render: Render) -> Page:
        """One page of transfers, filtered by community."""
        stmt = select(Transfer)
        if query.get("community_id"):
            stmt = stmt.where(Transfer.community_id == str(query["community_id"]))
        return paginate(self.session, stmt, Transfer.id, query["limit"], query.get("cursor"), render)

    def pool_transfers(self, community_id: str, pool_id: str, start: datetime, end: datetime) -> list[Transfer]:
        """The community's transfers into or out of the pool ``pool_id`` posted in
        ``[start, end)``, in posting order."""
        return list(
            self.session.scalars(
                select(Transfer)
                .where(
                    Transfer.community_id == community_id,
                    Transfer.posted_at >= start,
                    Transfer.posted_at < end,
                    or_(Transfer.debit_account_id == pool_id, Transfer.credit_account_id == pool_id),
                )
                .order_by(Transfer.posted_at, Transfer.id)
            )
        )

    def transfers_total(self, kind: str, low: datetime | None, high: datetime | None) -> int:
        """The fen moved by transfers of ``kind`` posted in ``[low, high)`` (open ends when
        ``None``)."""
        stmt: Select[Any] = select(func.coalesce(func.sum(Transfer.amount_fen), 0)).where(Transfer.kind == kind)
        if low:
            stmt = stmt.where(Transfer.posted_at >= low)
        if high:
            stmt = stmt.where(Transfer.posted_at < high)
        return int(self.session.scalar(stmt) or 0)

    def side_totals(self) -> dict[str, int]:
        """The fen of every entry by side (``debit``, ``credit``); a side with no entry is absent."""
        rows = self.session.execute(
            select(Entry.side, func.coalesce(func.sum(Entry.amount_fen), 0)).group_by(Entry.side)
        ).all()
        return {side: int(amount) for side, amount in rows}

    def account_side_totals(self) -> list[tuple[str, str, int]]:
        """``(account id, side, fen)`` of every account's entries, by side."""
        rows = self.session.execute(
            select(Entry.account_id, Entry.side, func.sum(Entry.amount_fen)).group_by(Entry.account_id, Entry.side)
        )
        return [(account_id, side, int(amount)) for account_id, side, amount in rows]

    def side_totals_before(self, account_id: str, moment: datetime) -> list[tuple[str, int]]:
        """``(side, fen)`` of the account's entries posted before ``moment``."""
        rows = self.session.execute(
            select(Entry.side, func.coalesce(func.sum(Entry.amount_fen), 0))
            .where(Entry.account_id == account_id, Entry.posted_at < moment)
            .group_by(Entry.side)
        )
        return [(side, int(amount)) for side, amount in rows]
