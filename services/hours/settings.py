"""The hours service's settings from nameko config: star thresholds, the certificate
key and the CJK font for certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from nameko.extensions import DependencyProvider

from yilin.environment import require_secret

# Sichuan's star rules, in hours: 1★ 100 … 5★ 1500 (5★ also needs a selection).
DEFAULT_STAR_HOURS = (100, 300, 600, 1000, 1500)
# Served dates are the district's local dates; China keeps UTC+8 all year.
LOCAL_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian: fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian: fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian: fonts-noto-cjk
)


class MissingFont(RuntimeError):
    """No font that can draw Chinese text for certificates."""


@dataclass(frozen=True)
class HoursSettings:
    star_minutes: tuple[int, ...]  # levels 1…5, in minutes
    certificate_key: bytes
    font_path: Path


def parse_star_hours(value: Any) -> tuple[int, ...]:
    """``"100,300,600,1000,1500"`` or a list → five strictly increasing thresholds in minutes."""
    items = value.split(",") if isinstance(value, str) else list(value)
    hours = tuple(int(str(item).strip()) for item in items)
    if len(hours) != 5 or any(h <= 0 for h in hours) or any(b <= a for a, b in zip(hours, hours[1:])):
        raise ValueError(f"HOURS_STAR_THRESHOLDS must be five increasing positive hour counts, not {value!r}")
    return tuple(h * 60 for h in hours)


def find_font(configured: str | None) -> Path:
    """The configured font, else the first installed candidate; raise if none exists."""
    candidates = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise MissingFont(
        "no CJK font for certificates: install the Debian package fonts-wqy-microhei "
        f"(apt-get install -y fonts-wqy-microhei) or set CJK_FONT to a TTF/TTC file; looked for {candidates}")


def load_settings(config: Mapping[str, Any]) -> HoursSettings:
    key = require_secret(config, "CERTIFICATE_KEY")  # certificate numbers are signed with it
    return HoursSettings(
        star_minutes=parse_star_hours(config.get("HOURS_STAR_THRESHOLDS") or DEFAULT_STAR_HOURS),
        certificate_key=key,
        font_path=find_font(config.get("CJK_FONT") or None),
    )


class Settings(DependencyProvider):
    """``self.settings``: checked once at start-up, so a missing key or font stops the
    service loudly instead of failing the first certificate."""

    def check_configuration(self, config: Mapping[str, Any]) -> None:
        """A weak or missing ``CERTIFICATE_KEY`` stops the service before it starts."""
        require_secret(config, "CERTIFICATE_KEY")

    def setup(self) -> None:
        self.settings = load_settings(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> HoursSettings:
        return self.settings
