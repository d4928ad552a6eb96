"""Rule-based state machine over the fund's domain functions on a real, migrated SQLite
database: random reports, amendments, disbursement requests, approvals, payments and
retries with repeated ids. After every step: debits equal credits, no pool is below
zero, every enterprise-year's contributions are exactly its rate of the latest profit,
and every client id took effect once."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from services.fund import disbursements, domain, ledger
from services.fund.events import EVENTS
from services.fund.models import Account, Base, ClientRequest, Disbursement, ProfitReport, Transfer
from services.fund.rules import contribution_fen
from services.fund.store import FundStore
from yilin.db import UnitOfWork, _engines
from yilin.errors import Conflict, Forbidden, YilinError
from yilin.identity import Identity
from yilin.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Identity(subject="operator-1", role="operator")
REQUESTER = Identity(subject="requester-1", role="social_worker")
MEMBERS = ["member-a", "member-b", "member-c"]
COMMUNITIES = [str(uuid.UUID(int=1)), str(uuid.UUID(int=2))]
YEARS = [2024, 2025]
profits = st.one_of(
    st.integers(10**6, 10**10), st.integers(-(10**9), 10**11), st.sampled_from([0, 1, 5, 15, 123456789, -1])
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fund") / "template.db"
    url = f"sqlite:///{path}"
    upgrade("fund", url, ROOT / "services" / "fund" / "migrations")
    _engines.pop((url, "fund")).dispose()
    return path


class FundMachine(RuleBasedStateMachine):
    template: Path
    workdir: Path

    def __init__(self) -> None:
        super().__init__()
        path = self.workdir / f"{uuid.uuid4().hex}.db"
        shutil.copy(self.template, path)
        self.engine = create_engine(f"sqlite:///{path}")
        # Durability is not under test here; skipping fsync keeps hundreds of steps fast.
        event.listen(
            self.engine,
            "connect",
            lambda conn, _: conn.executescript("PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY;"),
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info={"metadata": Base.metadata})
        self.enterprises: list[dict[str, Any]] = []
        self.latest: dict[tuple[str, int], dict[str, Any]] = {}  # (enterprise, year) → latest report view
        self.pools = {c: 0 for c in COMMUNITIES}
        self.requests: list[str] = []
        self.used: dict[str, tuple[Callable[[UnitOfWork], Any], dict[str, Any]]] = {}  # key → (call, first result)
        self.reports_filed = 0
        self.payments = 0

    def teardown(self) -> None:
        self.engine.dispose()

    def run(self, work: Callable[[UnitOfWork], Any]) -> tuple[Any, YilinError | None]:
        session = self.sessions()
        uow = UnitOfWork(session, EVENTS, None)
        try:
            result = work(uow)
            session.commit()
            return result, None
        except YilinError as error:
            session.rollback()
            return None, error
        except IntegrityError:
            session.rollback()
            return None, Conflict("integrity")
        finally:
            session.close()

    def counts(self) -> tuple[int, int, int]:
        with self.sessions() as s:
            return (
                s.scalar(select(func.count()).select_from(Transfer)),
                s.scalar(select(func.count()).select_from(ProfitReport)),
                s.scalar(select(func.count()).select_from(ClientRequest)),
            )

    @initialize(rates=st.lists(st.one_of(st.just(1000), st.integers(0, 10000)), min_size=3, max_size=3))
    def register(self, rates: list[int]) -> None:
        for i, rate in enumerate(rates):
            data = {
                "code": f"E{i}",
                "name": f"enterprise {i}",
                "community_id": COMMUNITIES[i % 2],
                "owner_organisation_id": uuid.uuid4(),
                "organisation_id": None,
                "contribution_rate_bp": rate,
            }
            view, error = self.run(lambda uow, data=data: domain.register_enterprise(uow, OPERATOR, data))
            assert error is None
            self.enterprises.append(view)

    # -- reports ----------------------------------------------------------------------
    def _apply_report(self, enterprise: dict[str, Any], view: dict[str, Any], previous_owed: int) -> None:
        owed = contribution_fen(view["net_profit_fen"], enterprise["contribution_rate_bp"])
        assert view["contribution_fen"] == owed
        assert view["adjustment_fen"] == owed - previous_owed
        self.pools[enterprise["community_id"]] += view["adjustment_fen"]
        note_event(
            f"contribution {'up' if view['adjustment_fen'] > 0 else 'down' if view['adjustment_fen'] else 'none'}"
        )
        self.latest[(enterprise["id"], view["fiscal_year"])] = view
        self.reports_filed += 1

    @rule(index=st.integers(0, 2), year=st.sampled_from(YEARS), profit=profits)
    def report(self, index: int, year: int, profit: int) -> None:
        enterprise = self.enterprises[index]
        key = str(uuid.uuid4())
        data = {
            "enterprise_id": uuid.UUID(enterprise["id"]),
            "fiscal_year": year,
            "net_profit_fen": profit,
            "currency": "CNY",
            "audited": False,
            "document_ref": None,
            "transfer_id": uuid.UUID(key),
        }
        call = lambda uow: domain.report_profit(uow, OPERATOR, dict(data))  # noqa: E731 - a one-line callable, named for the reader
        before = self.counts()
        view, error = self.run(call)
        if (enterprise["id"], year) in self.latest:
            assert isinstance(error, Conflict) and "fiscal_year" in error.fields
            assert self.counts() == before
            return
        assert error is None, error
        self._apply_report(enterprise, view, 0)
        self.used[key] = (call, view)

    @precondition(lambda self: self.latest)
    @rule(data=st.data(), profit=profits, stale=st.booleans())
    def amend(self, data: st.DataObject, profit: int, stale: bool) -> None:
        (enterprise_id, year) = data.draw(st.sampled_from(list(self.latest)))
        latest = self.latest[(enterprise_id, year)]
        enterprise = next(e for e in self.enterprises if e["id"] == enterprise_id)
        target = latest["id"]
        if stale and latest["version"] > 1:
            with self.sessions() as s:
                target = s.scalar(
                    select(ProfitReport.id).where(
                        ProfitReport.enterprise_id == enterprise_id,
                        ProfitReport.fiscal_year == year,
                        ProfitReport.version == 1,
                    )
                )
        key = str(uuid.uuid4())
        body = {
            "net_profit_fen": profit,
            "audited": True,
            "document_ref": "AUD-1",
            "reason": "audit",
            "transfer_id": uuid.UUID(key),
        }
        call = lambda uow: domain.amend_profit(uow, OPERATOR, target, dict(body))  # noqa: E731 - a one-line callable, named for the reader
        before = self.counts()
        view, error = self.run(call)
        owed = contribution_fen(profit, enterprise["contribution_rate_bp"])
        delta = owed - latest["contribution_fen"]
        if target != latest["id"]:
            assert isinstance(error, Conflict) and "report_id" in error.fields
        elif delta < 0 and self.pools[enterprise["community_id"]] < -delta:
            assert isinstance(error, Conflict) and "net_profit" in error.fields, error
            note_event("amendment refused: pool already spent")
        else:
            assert error is None, error
            assert view["version"] == latest["version"] + 1
            self._apply_report(enterprise, view, latest["contribution_fen"])
            self.used[key] = (call, view)
            return
        assert self.counts() == before

    # -- disbursements ----------------------------------------------------------------
    @rule(
        community=st.sampled_from(COMMUNITIES),
        amount=st.one_of(st.integers(1, 10**4), st.integers(1, 2 * 10**9)),
        category=st.sampled_from(["courtyard_renovation", "hardware_repair", "garbage_sorting", "other"]),
    )
    def request(self, community: str, amount: int, category: str) -> None:
        data = {
            "community_id": uuid.UUID(community),
            "category": category,
            "amount_fen": amount,
            "purpose": "replace broken bins",
            "ticket_id": None,
        }
        view, error = self.run(lambda uow: disbursements.request_disbursement(uow, REQUESTER, data))
        assert error is None and view["status"] == "requested"
        self.requests.append(view["id"])

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), member=st.sampled_from(MEMBERS + [REQUESTER.subject]))
    def approve(self, data: st.DataObject, member: str) -> None:
        target = data.draw(recent(self.requests))
        self._approve(target, member, domain_view(self, target))

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def next_member_approves(self, data: st.DataObject) -> None:
        """The common path: a member who has not yet approved the newest request does."""
        target = self.requests[-1]
        before = domain_view(self, target)
        member = data.draw(st.sampled_from([m for m in MEMBERS if m not in before["approvals"]]))
        self._approve(target, member, before)

    def _approve(self, target: str, member: str, before: dict[str, Any]) -> None:
        view, error = self.run(
            lambda uow: disbursements.approve_disbursement(
                uow, Identity(subject=member, role="fund_committee"), target, {"member": None}
            )
        )
        if member == REQUESTER.subject:
            assert isinstance(error, Forbidden)
        elif member in before["approvals"]:
            assert isinstance(error, Conflict) and "approver" in error.fields
        elif before["status"] != "requested":
            assert isinstance(error, Conflict) and "status" in error.fields
        else:
            assert error is None, error
            assert view["status"] == ("approved" if len(before["approvals"]) == 1 else "requested")
            note_event(f"approval {len(before['approvals']) + 1}")
            return
        assert domain_view(self, target) == before

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        with self.sessions() as s:
            approved_ids = set(s.scalars(select(Disbursement.id).where(Disbursement.status == "approved")))
        approved = [r for r in self.requests if r in approved_ids]
        target = data.draw(st.one_of(recent(self.requests), *([st.sampled_from(approved)] if approved else [])))
        before = domain_view(self, target)
        key = str(uuid.uuid4())
        body = {"transfer_id": uuid.UUID(key)}
        call = lambda uow: disbursements.pay_disbursement(uow, OPERATOR, target, dict(body))  # noqa: E731 - a one-line callable, named for the reader
        counts = self.counts()
        view, error = self.run(call)
        if before["status"] != "approved":
            assert isinstance(error, Conflict) and "status" in error.fields
            note_event("payment refused: not approved")
        elif self.pools[before["community_id"]] < before["amount_fen"]:
            assert isinstance(error, Conflict) and "amount" in error.fields
            note_event("payment refused: overdraw")
        else:
            assert error is None, error
            assert view["status"] == "paid" and view["transfer_id"] == key
            self.pools[before["community_id"]] -= before["amount_fen"]
            self.payments += 1
            note_event("paid")
            self.used[key] = (call, view)
            return
        assert self.counts() == counts

    # -- retries ----------------------------------------------------------------------
    @precondition(lambda self: self.used)
    @rule(data=st.data())
    def retry_same_body(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(list(self.used)))
        call, first = self.used[key]
        before = self.counts()
        view, error = self.run(call)
        assert error is None, error
        assert view == first
        note_event("retry answered with the first result")
        assert self.counts() == before

    @precondition(lambda self: self.used and self.enterprises)
    @rule(data=st.data(), profit=profits)
    def reuse_id_with_other_body(self, data: st.DataObject, profit: int) -> None:
        key = data.draw(st.sampled_from(list(self.used)))
        enterprise = self.enterprises[0]
        body = {
            "enterprise_id": uuid.UUID(enterprise["id"]),
            "fiscal_year": 2099,
            "net_profit_fen": profit,
            "currency": "CNY",
            "audited": False,
            "document_ref": None,
            "transfer_id": uuid.UUID(key),
        }
        before = self.counts()
        _, error = self.run(lambda uow: domain.report_profit(uow, OPERATOR, body))
        assert isinstance(error, Conflict) and "transfer_id" in error.fields
        assert self.counts() == before

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def debits_equal_credits(self) -> None:
        with self.sessions() as s:
            trial = ledger.trial_balance(s)
        assert trial["debits_fen"] == trial["credits_fen"]
        assert trial["balanced"]
        assert sum(a["balance_fen"] for a in trial["accounts"]) == 0

    @invariant()
    def pools_match_the_model_and_never_go_negative(self) -> None:
        with self.sessions() as s:
            balances = {c: ledger.pool_balance(FundStore(s), c) for c in COMMUNITIES}
            lowest = s.scalar(select(func.min(Account.balance_fen)).where(Account.kind == "pool"))
        assert balances == self.pools
        assert lowest is None or lowest >= 0

    @invariant()
    def contributions_are_exactly_the_rate_of_the_profit(self) -> None:
        with self.sessions() as s:
            for (enterprise_id, year), latest in self.latest.items():
                rate = next(e["contribution_rate_bp"] for e in self.enterprises if e["id"] == enterprise_id)
                reports = select(ProfitReport.id).where(
                    ProfitReport.enterprise_id == enterprise_id, ProfitReport.fiscal_year == year
                )
                moved = 0
                for kind, amount in s.execute(
                    select(Transfer.kind, Transfer.amount_fen).where(Transfer.reference_id.in_(reports))
                ):
                    moved += amount if kind == "contribution" else -amount
                assert moved == contribution_fen(latest["net_profit_fen"], rate)

    @invariant()
    def each_id_took_effect_once(self) -> None:
        with self.sessions() as s:
            assert s.scalar(select(func.count()).select_from(ProfitReport)) == self.reports_filed
            assert (
                s.scalar(select(func.count()).select_from(Disbursement).where(Disbursement.status == "paid"))
                == self.payments
            )
            assert s.scalar(select(func.count()).select_from(ClientRequest)) == len(self.used)
            ids = set(s.scalars(select(Transfer.id)))
        assert ids <= set(self.used)


def recent(requests: list[str]) -> st.SearchStrategy[str]:
    """Mostly the newest request, so approvals pile up on one and payments happen."""
    return st.one_of(st.just(requests[-1]), st.sampled_from(requests))


def domain_view(machine: FundMachine, disbursement_id: str) -> dict[str, Any]:
    with machine.sessions() as s:
        return disbursements.get_disbursement(s, disbursement_id)


def test_fund_ledger_state_machine(template: Path, tmp_path: Path) -> None:
    FundMachine.template, FundMachine.workdir = template, tmp_path
    FundMachine.TestCase.settings = settings(
        max_examples=30, stateful_step_count=35, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    FundMachine.TestCase().runTest()
