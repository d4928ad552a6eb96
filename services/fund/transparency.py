"""The public transparency report of one community's pool for one calendar year
(China Standard Time): contributions by enterprise, payments by category and purpose,
opening and closing balance. Every figure comes from the ledger, and the report checks
itself against the pool's entries. It names enterprises, categories and purposes, never
people."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from services.district import LOCAL_TIME
from services.fund import ledger
from services.fund.rules import yuan
from services.fund.schemas import CATEGORIES
from services.fund.store import FundStore
from yilin.exports import SafeWriter

SIGN = {"contribution": 1, "contribution_reversal": -1}


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=LOCAL_TIME).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TIME).astimezone(timezone.utc)
    return start, end


def _balance_before(store: FundStore, account_id: str | None, moment: datetime) -> int:
    if account_id is None:
        return 0
    total = 0
    for side, amount in store.side_totals_before(account_id, moment):
        total += amount if side == "debit" else -amount
    return total


def build(session: Session, community_id: str, year: int) -> dict[str, Any]:
    store = FundStore(session)
    start, end = _year_bounds(year)
    pool_id = store.account_id(ledger.pool_code(community_id))
    opening = _balance_before(store, pool_id, start)
    transfers = store.pool_transfers(community_id, pool_id, start, end) if pool_id else []

    by_enterprise: dict[str, dict[str, Any]] = {}
    by_category = {c: {"category": c, "count": 0, "amount_fen": 0} for c in CATEGORIES}
    paid: list[dict[str, Any]] = []
    for t in transfers:
        if t.kind in SIGN:
            report = store.filed_report(t.reference_id)
            line = by_enterprise.get(report.enterprise_id)
            if line is None:
                e = store.enterprise_of(report)
                line = by_enterprise[e.id] = {
                    "enterprise_id": e.id,
                    "enterprise_code": e.code,
                    "enterprise_name": e.name,
                    "fiscal_years": [],
                    "amount_fen": 0,
                }
            line["amount_fen"] += SIGN[t.kind] * t.amount_fen
            if report.fiscal_year not in line["fiscal_years"]:
                line["fiscal_years"].append(report.fiscal_year)
        elif t.kind == "disbursement":
            d = store.paid_disbursement(t.reference_id)
            by_category[d.category]["count"] += 1
            by_category[d.category]["amount_fen"] += t.amount_fen
            paid.append(
                {
                    "disbursement_id": d.id,
                    "category": d.category,
                    "purpose": d.purpose,
                    "ticket_id": d.ticket_id,
                    "amount_fen": t.amount_fen,
                    "paid_at": t.posted_at if t.posted_at.tzinfo else t.posted_at.replace(tzinfo=timezone.utc),
                }
            )
    contributions = sorted(by_enterprise.values(), key=lambda line: line["enterprise_code"])
    for line in contributions:
        line["fiscal_years"].sort()
    contributed = sum(line["amount_fen"] for line in contributions)
    spent = sum(line["amount_fen"] for line in paid)
    closing = opening + contributed - spent
    return {
        "community_id": community_id,
        "year": year,
        "currency": "CNY",
        "opening_balance_fen": opening,
        "contributions_fen": contributed,
        "disbursements_fen": spent,
        "closing_balance_fen": closing,
        "contributions": contributions,
        "disbursements_by_category": [line for line in by_category.values() if line["count"]],
        "disbursements": paid,
        "reconciled": closing == _balance_before(store, pool_id, end),
    }


def to_csv(report: dict[str, Any]) -> str:
    """One line per figure: ``section,key,detail,amount_fen,amount_yuan``."""
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\n")  # a purpose typed as "=…" stays text in a spreadsheet
    writer.writerow(["section", "key", "detail", "amount_fen", "amount_yuan"])

    def row(section: str, key: str, detail: str, fen: int) -> None:
        writer.writerow([section, key, detail, fen, yuan(fen)])

    row("opening_balance", report["community_id"], str(report["year"]), report["opening_balance_fen"])
    for line in report["contributions"]:
        years = " ".join(str(y) for y in line["fiscal_years"])
        row("contribution", line["enterprise_code"], f"{line['enterprise_name']} (fiscal {years})", line["amount_fen"])
    for line in report["disbursements_by_category"]:
        row("disbursements_by_category", line["category"], f"{line['count']} payment(s)", line["amount_fen"])
    for line in report["disbursements"]:
        row("disbursement", line["category"], line["purpose"], line["amount_fen"])
    row("contributions_total", "", "", report["contributions_fen"])
    row("disbursements_total", "", "", report["disbursements_fen"])
    row("closing_balance", report["community_id"], str(report["year"]), report["closing_balance_fen"])
    return out.getvalue()
