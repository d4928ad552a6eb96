"""A nameko timer whose interval comes from the configuration, so operators (and tests)
tune it with an environment variable instead of a code change."""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    """``@ConfiguredTimer.decorator("TICKETS_SLA_INTERVAL", 30)``: fires every
    ``config[key]`` seconds, ``default`` when the key is absent."""

    def __init__(self, key: str, default: float, **kwargs: Any) -> None:
        self.key = key
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(self.container.config.get(self.key, self.interval))
        super().setup()


configured_timer = ConfiguredTimer.decorator
