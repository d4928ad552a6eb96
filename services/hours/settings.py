"""The hours service's settings from nameko config: star thresholds, the certificate
key and the CJK font for certificates."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import noto_cjk_sans_otc
from nameko.extensions import DependencyProvider

__all__ = ["DEFAULT_STAR_HOURS", "CertificateFont", "HoursSettings", "Settings"]
from yilin.environment import require_secret

# Sichuan's star rules, in hours: 1★ 100 … 5★ 1500 (5★ also needs a selection).
DEFAULT_STAR_HOURS = (100, 300, 600, 1000, 1500)
# Noto Sans CJK ships inside a Python package (pinned in uv.lock, SIL OFL 1.1), so certificates
# print Chinese names on any machine with no system font; face 2 of the collection is the
# Simplified Chinese one.
BUNDLED_FONT_FACE = 2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificateFont:
    """A TTF/OTF file, or one face of a TTC/OTC collection."""

    path: Path
    face: int = 0


DEFAULT_PUBLIC_URL = "http://localhost:8000"
CHECK_PATH = "/pages/certificates/check"  # served by the gateway (services.gateway.pages)


@dataclass(frozen=True)
class HoursSettings:
    star_minutes: tuple[int, ...]  # levels 1…5, in minutes
    certificate_key: bytes
    font: CertificateFont
    check_url: str  # the public certificate check page, printed as a QR code on certificates


def parse_star_hours(value: Any) -> tuple[int, ...]:
    """``"100,300,600,1000,1500"`` or a list → five strictly increasing thresholds in minutes."""
    items = value.split(",") if isinstance(value, str) else list(value)
    hours = tuple(int(str(item).strip()) for item in items)
    if len(hours) != 5 or any(h <= 0 for h in hours) or any(b <= a for a, b in zip(hours, hours[1:])):
        raise ValueError(f"HOURS_STAR_THRESHOLDS must be five increasing positive hour counts, not {value!r}")
    return tuple(h * 60 for h in hours)


def bundled_font() -> CertificateFont:
    """The Simplified Chinese face of the Noto Sans CJK collection installed with Yilin."""
    return CertificateFont(Path(str(noto_cjk_sans_otc.FONT_PATH)), BUNDLED_FONT_FACE)


def find_font(configured: str | None) -> CertificateFont:
    """``CJK_FONT`` when it names a file, else the bundled font: a wrong override is logged,
    never a reason for the service not to start."""
    if configured:
        path = Path(configured)
        if path.is_file():
            return CertificateFont(path)
        log.warning("CJK_FONT %s is not a file: certificates use the bundled Noto Sans CJK SC", configured)
    return bundled_font()


def load_settings(config: Mapping[str, Any]) -> HoursSettings:
    key = require_secret(config, "CERTIFICATE_KEY")  # certificate numbers are signed with it
    return HoursSettings(
        star_minutes=parse_star_hours(config.get("HOURS_STAR_THRESHOLDS") or DEFAULT_STAR_HOURS),
        certificate_key=key,
        font=find_font(config.get("CJK_FONT") or None),
        check_url=str(config.get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/") + CHECK_PATH,
    )


class Settings(DependencyProvider):
    """``self.settings``: checked once at start-up, so a missing key stops the service
    loudly instead of failing the first certificate."""

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """A weak or missing ``CERTIFICATE_KEY`` stops the service before it starts."""
        require_secret(config, "CERTIFICATE_KEY")

    def setup(self) -> None:
        self.settings = load_settings(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> HoursSettings:
        return self.settings
