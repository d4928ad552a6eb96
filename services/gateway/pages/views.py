"""Render the public pages: each view gathers its figures (:mod:`.data`) and fills a
jinja2 template; an expected failure becomes a page of its own with the right status."""

from __future__ import annotations

import re
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, select_autoescape

from services.gateway.pages import data
from services.gateway.pages.chart import Bar, BarChart
from services.gateway.pages.format import category, hours, yuan
from yilin.errors import InvalidInput, YilinError

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
IN_COLOUR, OUT_COLOUR = "#1a7f37", "#b3261e"  # both at least 4.5:1 on white

ENV = Environment(
    loader=PackageLoader("services.gateway.pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(yuan=yuan, hours=hours, category=category)

Page = tuple[int, str]


class Unavailable(YilinError):
    """A service did not answer: the page says to come back later."""

    status = 503


class Failed(YilinError):
    """An unexpected failure, told without internals."""

    status = 500


def render(template: str, **context: Any) -> str:
    """A page's HTML."""
    return ENV.get_template(template).render(**context)


def error_page(error: YilinError) -> Page:
    """An expected failure (bad input, not found) as a page that says what to correct."""
    return error.status, render("error.html", status=error.status, message=error.message, fields=error.fields)


def guarded(view: Callable[[], Page]) -> Page:
    """Run a view; a YilinError becomes its error page."""
    try:
        return view()
    except YilinError as error:
        return error_page(error)


def fund(rpc: data.Rpc, community_id: str, args: dict[str, str]) -> Page:
    """社区基金公示: a community pool's money in and out in a year."""

    def view() -> Page:
        if not UUID.match(community_id):
            raise InvalidInput("malformed community id", {"community_id": ["not a valid id (UUID)"]})
        year = data.parse_year(args.get("year"))
        report = data.fund_report(rpc, community_id, year)
        chart = BarChart(
            [
                Bar("收入", report["contributions_fen"], yuan(report["contributions_fen"]), IN_COLOUR),
                Bar("支出", report["disbursements_fen"], yuan(report["disbursements_fen"]), OUT_COLOUR),
            ]
        )
        return 200, render(
            "fund.html", report=report, year=year, chart=chart, years=range(data.this_year(), data.this_year() - 5, -1)
        )

    return guarded(view)


def certificate(rpc: data.Rpc, args: dict[str, str]) -> Page:
    """证明核验: the form, and with ``?number=`` whether that certificate is genuine."""
    number = (args.get("number") or "").strip()
    if not number:
        return 200, render("certificate.html", number="", result=None, problem=None)
    try:
        return 200, render("certificate.html", number=number, result=data.certificate_check(rpc, number), problem=None)
    except YilinError as error:
        # Not genuine (or altered) is an answer to show, with the status the API gives.
        return error.status, render("certificate.html", number=number, result=None, problem=error.message)


def district(rpc: data.Rpc, args: dict[str, str]) -> Page:
    """区级指标: the district's figures."""

    def view() -> Page:
        year = data.parse_year(args.get("year"))
        return 200, render("district.html", figures=data.district_indicators(rpc, year), year=year)

    return guarded(view)
