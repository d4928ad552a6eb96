"""Configuration the hours service refuses to start without, and the font it never lacks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.hours.settings import BUNDLED_FONT_FACE, find_font, load_settings, parse_star_hours
from yilin.environment import ConfigurationError


def test_star_thresholds_are_configurable_and_checked() -> None:
    assert parse_star_hours("100,300,600,1000,1500") == (6000, 18000, 36000, 60000, 90000)
    assert parse_star_hours([1, 2, 3, 4, 5]) == (60, 120, 180, 240, 300)
    for bad in ("100,300", "100,300,300,1000,1500", "0,1,2,3,4", "a,b,c,d,e"):
        with pytest.raises(ValueError):
            parse_star_hours(bad)


def test_a_missing_key_stops_the_service_loudly() -> None:
    with pytest.raises(ConfigurationError, match="CERTIFICATE_KEY"):
        load_settings({})
    with pytest.raises(ConfigurationError, match="CERTIFICATE_KEY"):  # production: a short key is refused
        load_settings({"CERTIFICATE_KEY": "k"})
    settings = load_settings(
        {"CERTIFICATE_KEY": "k", "ENVIRONMENT": "development", "HOURS_STAR_THRESHOLDS": "1,2,3,4,5"}
    )
    assert settings.star_minutes == (60, 120, 180, 240, 300) and settings.certificate_key == b"k"


def test_the_font_comes_with_the_python_install_and_cjk_font_overrides_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundled = find_font(None)
    assert bundled.path.is_file() and "site-packages" in bundled.path.parts and bundled.face == BUNDLED_FONT_FACE
    own = tmp_path / "own.ttf"
    own.write_bytes(b"\0")
    assert find_font(str(own)).path == own and find_font(str(own)).face == 0
    # A wrong override is a warning, never a service that does not start.
    with caplog.at_level(logging.WARNING, logger="services.hours.settings"):
        assert find_font("/nonexistent/font.ttf") == bundled
    assert "/nonexistent/font.ttf" in caplog.text
    assert (
        load_settings({"CERTIFICATE_KEY": "k", "ENVIRONMENT": "development", "CJK_FONT": "/nonexistent/font.ttf"}).font
        == bundled
    )
