"""What a certificate (志愿服务记录证明) is issued from and kept as: the verified minutes an
organisation recorded for a volunteer in a period, the certificates' serial numbers and
the certificates themselves."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from services.hours.models import Certificate, Entry
from services.hours.store.base import StoreBase


class CertificateStore(StoreBase):
    """The reads and writes of certificates."""

    def verified_by_content(
        self, volunteer_id: str, organisation_id: str, period_from: date, period_to: date
    ) -> list[tuple[str, int]]:
        """The verified minutes ``organisation_id`` recorded for ``volunteer_id`` between
        the days (inclusive), summed by service content, most minutes first."""
        rows = self.session.execute(
            select(Entry.content, func.sum(Entry.minutes))
            .where(
                Entry.volunteer_id == volunteer_id,
                Entry.organisation_id == organisation_id,
                Entry.status == "verified",
                Entry.served_on >= period_from,
                Entry.served_on <= period_to,
            )
            .group_by(Entry.content)
            .order_by(func.sum(Entry.minutes).desc(), Entry.content)
        ).all()
        return [(content, int(minutes)) for content, minutes in rows]

    def last_serial(self) -> int:
        """The highest serial issued so far, 0 before the first (serials are unique)."""
        return int(self.session.scalar(select(func.coalesce(func.max(Certificate.serial), 0))) or 0)

    def add_certificate(self, **columns: Any) -> Certificate:
        """A new certificate, flushed so that it has its id."""
        cert = Certificate(**columns)
        self.session.add(cert)
        self.session.flush()
        return cert

    def certificate(self, certificate_id: str) -> Certificate | None:
        """One certificate by id."""
        return self.session.get(Certificate, certificate_id)

    def certificate_by_number(self, number: str) -> Certificate | None:
        """One certificate by its number."""
        return self.session.scalar(select(Certificate).where(Certificate.number == number))
