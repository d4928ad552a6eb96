"""志愿服务记录证明: numbered certificates of a volunteer's verified hours.

The certificate number is ``YLZM<year><serial>-<mac>``, where ``mac`` is an HMAC (key
from configuration) over the serial and every field the certificate shows. Verifying a
number recomputes the HMAC over the stored content: an altered number finds nothing, and
altered content (in the database or on the paper in hand) no longer matches."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict
from urllib.parse import urlencode

import segno
from fpdf import FPDF
from sqlalchemy.orm import Session

from services.hours.models import Certificate
from services.hours.permissions import CERTIFIERS, SYSTEM_ROLES
from services.hours.settings import CertificateFont
from services.hours.store import CertificateStore
from yilin.db import UnitOfWork
from yilin.errors import Forbidden, InvalidInput, NotFound
from yilin.identity import Identity

NUMBER = re.compile(r"^YLZM(\d{4})(\d{7})-([0-9A-F]{16})$")
MAX_CONTENT_ITEMS = 10


def hours_text(minutes: int) -> str:
    """Minutes as hours with one decimal (12.5), exact decimal arithmetic."""
    return str((Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _mac(key: bytes, content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()[:16].upper()


class CertificateView(TypedDict):
    """A certificate as the service hands it to ``CertificateOut`` and to the PDF."""

    id: str
    number: str
    volunteer_id: str
    volunteer_name: str
    id_number: str
    volunteer_number: str
    organisation_id: str
    organisation_name: str
    person_in_charge: str
    contact: str
    period_from: date
    period_to: date
    minutes: int
    hours: str
    service_content: list[str]
    issued_on: date


class CertificateCheck(TypedDict):
    """A genuine, unaltered certificate (``CertificateCheckOut``)."""

    valid: bool
    certificate: CertificateView


def certificate_view(cert: Certificate) -> CertificateView:
    c = cert.content
    return {
        "id": cert.id,
        "number": cert.number,
        "volunteer_id": cert.volunteer_id,
        "volunteer_name": c["volunteer_name"],
        "id_number": c["id_number"],
        "volunteer_number": c["volunteer_number"],
        "organisation_id": cert.organisation_id,
        "organisation_name": c["organisation_name"],
        "person_in_charge": c["person_in_charge"],
        "contact": c["contact"],
        "period_from": cert.period_from,
        "period_to": cert.period_to,
        "minutes": cert.minutes,
        "hours": hours_text(cert.minutes),
        "service_content": c["service_content"],
        "issued_on": cert.issued_on,
    }


def issue(
    uow: UnitOfWork,
    caller: Identity,
    key: bytes,
    data: dict[str, Any],
    volunteer: dict[str, Any],
    organisation: dict[str, Any],
    today: date,
) -> CertificateView:
    """Certify the verified hours ``organisation`` recorded for ``volunteer`` in the period
    (whoever records the service certifies it). ``volunteer`` and ``organisation`` are
    the registry's views."""
    store = CertificateStore(uow.session)
    organisation_id = str(data["organisation_id"])
    if caller.role not in SYSTEM_ROLES and not (
        caller.role in CERTIFIERS and caller.organisation_id == organisation_id
    ):
        raise Forbidden("only the recording organisation certifies these hours", {"organisation_id": ["not yours"]})
    volunteer_id = str(data["volunteer_id"])
    rows = store.verified_by_content(volunteer_id, organisation_id, data["period_from"], data["period_to"])
    minutes = sum(m for _, m in rows)
    if minutes == 0:
        raise InvalidInput(
            "no verified hours recorded by this organisation for the volunteer in the period",
            {"volunteer_id": ["no verified hours in the period"]},
        )
    serial = store.last_serial() + 1
    content = {
        "serial": serial,
        "volunteer_id": volunteer_id,
        "volunteer_name": volunteer["name"],
        "id_number": volunteer["id_number"],
        "volunteer_number": volunteer["number"],
        "organisation_id": organisation_id,
        "organisation_name": organisation["name"],
        "person_in_charge": data["person_in_charge"],
        "contact": data["contact"],
        "period_from": data["period_from"].isoformat(),
        "period_to": data["period_to"].isoformat(),
        "minutes": minutes,
        "service_content": [c for c, _ in rows[:MAX_CONTENT_ITEMS]],
        "issued_on": today.isoformat(),
    }
    number = f"YLZM{today.year:04d}{serial:07d}-{_mac(key, content)}"
    cert = store.add_certificate(
        number=number,
        serial=serial,
        volunteer_id=volunteer_id,
        organisation_id=organisation_id,
        period_from=data["period_from"],
        period_to=data["period_to"],
        minutes=minutes,
        content=content,
        issued_on=today,
        issued_by=caller.subject,
    )
    # publishes no event: the audit row says who certified whose hours
    uow.note(
        "certificate.issued",
        {"certificate_id": cert.id, "volunteer_id": volunteer_id, "organisation_id": organisation_id},
    )
    return certificate_view(cert)


def get(session: Session, certificate_id: Any) -> Certificate:
    cert = CertificateStore(session).certificate(str(certificate_id))
    if cert is None:
        raise NotFound(f"certificate {certificate_id} does not exist", {"certificate_id": ["not found"]})
    return cert


def verify(session: Session, key: bytes, query: dict[str, Any]) -> CertificateCheck:
    """Confirm a certificate is genuine and unaltered; raise naming what does not match."""
    number = query["number"].strip().upper()
    match = NUMBER.match(number)
    if not match:
        raise InvalidInput("not a certificate number", {"number": ["malformed certificate number"]})
    cert = CertificateStore(session).certificate_by_number(number)
    if cert is None:
        raise NotFound(
            "no certificate has this number; it is not genuine", {"number": ["not a genuine certificate number"]}
        )
    if (
        not hmac.compare_digest(_mac(key, cert.content), match.group(3))
        or cert.content.get("serial") != cert.serial
        or cert.content.get("minutes") != cert.minutes
    ):
        raise InvalidInput(
            "the certificate's content has been altered", {"number": ["content does not match the number"]}
        )
    view = certificate_view(cert)
    claims = {
        "volunteer_number": view["volunteer_number"],
        "minutes": view["minutes"],
        "period_from": view["period_from"],
        "period_to": view["period_to"],
    }
    wrong = {
        ("from" if k == "period_from" else "to" if k == "period_to" else k): ["does not match the certificate"]
        for k, v in claims.items()
        if query.get(k) is not None and query[k] != v
    }
    if wrong:
        raise InvalidInput("the certificate in hand differs from the one issued", wrong)
    return {"valid": True, "certificate": view}


def check_link(check_url: str, number: str) -> str:
    """The public page that verifies this certificate, as its QR code encodes it."""
    return f"{check_url}?{urlencode({'number': number})}"


def qr_png(text: str) -> bytes:
    """A QR code of ``text`` as PNG (medium error correction survives a worn print)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def render_pdf(view: CertificateView, font: CertificateFont, check_url: str) -> bytes:
    """The printable certificate (A4), in Chinese with the given CJK font, with a QR code
    that opens its public check page."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"志愿服务记录证明 {view['number']}")
    pdf.set_creator("Yilin")
    collection = font.path.suffix.lower() in (".ttc", ".otc")
    options = {"collection_font_number": font.face} if collection else {}
    pdf.add_font("cjk", fname=str(font.path), **options)
    pdf.add_page()
    pdf.set_margins(22, 22, 22)
    pdf.set_font("cjk", size=22)
    pdf.cell(0, 18, "志愿服务记录证明", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(0, 8, f"证明编号：{view['number']}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    body = (
        f"兹证明 {view['volunteer_name']}（身份证号：{view['id_number']}，志愿者编号：{view['volunteer_number']}）"
        f"于 {view['period_from']} 至 {view['period_to']} 期间参加由本组织记录的志愿服务，"
        f"经核实累计服务时长 {view['hours']} 小时。特此证明。"
    )
    pdf.multi_cell(0, 8, body, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [
        ("姓名", view["volunteer_name"]),
        ("身份证号", view["id_number"]),
        ("志愿者编号", view["volunteer_number"]),
        ("服务时间", f"{view['period_from']} 至 {view['period_to']}"),
        ("服务时长", f"{view['hours']} 小时（{view['minutes']} 分钟）"),
        ("服务内容", "；".join(view["service_content"])),
        ("出具组织", view["organisation_name"]),
        ("负责人", view["person_in_charge"]),
        ("联系方式", view["contact"]),
        ("证明编号", view["number"]),
        ("出具日期", str(view["issued_on"])),
    ]
    with pdf.table(col_widths=(30, 136), text_align=("CENTER", "LEFT"), first_row_as_headings=False) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(str(value))
    pdf.ln(8)
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(
        0,
        6,
        "本证明所载服务时长为志愿者实际提供志愿服务的时间（不含往返交通时间）。"
        "可凭证明编号在益邻平台核验真伪，或用手机扫描下方二维码核验。",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.image(io.BytesIO(qr_png(check_link(check_url, view["number"]))), x=pdf.l_margin, w=32, h=32)
    return bytes(pdf.output())
