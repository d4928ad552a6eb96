"""Configuration the hours service refuses to start without."""

from __future__ import annotations

import pytest

from yilin.environment import ConfigurationError
from services.hours.settings import MissingFont, find_font, load_settings, parse_star_hours


def test_star_thresholds_are_configurable_and_checked() -> None:
    assert parse_star_hours("100,300,600,1000,1500") == (6000, 18000, 36000, 60000, 90000)
    assert parse_star_hours([1, 2, 3, 4, 5]) == (60, 120, 180, 240, 300)
    for bad in ("100,300", "100,300,300,1000,1500", "0,1,2,3,4", "a,b,c,d,e"):
        with pytest.raises(ValueError):
            parse_star_hours(bad)


def test_a_missing_cjk_font_or_key_stops_the_service_loudly() -> None:
    with pytest.raises(MissingFont, match="fonts-wqy-microhei"):
        find_font("/nonexistent/font.ttf")
    assert find_font(None).is_file()  # the CI installs fonts-wqy-microhei
    with pytest.raises(ConfigurationError, match="CERTIFICATE_KEY"):
        load_settings({})
    with pytest.raises(ConfigurationError, match="CERTIFICATE_KEY"):  # production: a short key is refused
        load_settings({"CERTIFICATE_KEY": "k"})
    settings = load_settings({"CERTIFICATE_KEY": "k", "ENVIRONMENT": "development", "HOURS_STAR_THRESHOLDS": "1,2,3,4,5"})
    assert settings.star_minutes == (60, 120, 180, 240, 300) and settings.certificate_key == b"k"
