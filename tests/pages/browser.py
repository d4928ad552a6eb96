"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which
deploy/ci/system-deps.sh installs) driven by selenium, and axe-core from tools/axe."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_TOOL = ROOT / "tools" / "axe"
AXE = AXE_TOOL / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "var" / "artefacts" / "pages"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PHONE, DESKTOP = (390, 844), (1280, 900)


def axe_source() -> str:
    """axe-core's script, installed from the lock file on first use."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to install axe-core (tools/axe); apt-get install -y npm")
        subprocess.run(
            [npm, "ci", "--prefix", str(AXE_TOOL), "--ignore-scripts", "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
            capture_output=True,
        )
    return AXE.read_text(encoding="utf-8")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a throw-away profile, quiet on the network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is missing: apt-get install -y chromium chromium-driver (deploy/ci/system-deps.sh)")
    profile = tempfile.mkdtemp(prefix="yilin-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver: Any, source: str) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.x A/AA and best practices) on the loaded page."""
    driver.execute_script(source)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));"
    )


def screenshots(driver: Any, name: str) -> list[Path]:
    """Full-page screenshots at phone and desktop widths, kept as test artefacts."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    saved = []
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(height, int(full) + 120))
        path = ARTEFACTS / f"{name}-{label}.png"
        assert driver.save_screenshot(str(path)), path
        saved.append(path)
    driver.set_window_size(*DESKTOP)
    return saved


def overflows_horizontally(driver: Any, width: int) -> bool:
    """Whether the page needs sideways scrolling at this viewport width."""
    driver.set_window_size(width, PHONE[1])
    inner = driver.execute_script("return window.innerWidth")
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    return int(wide) > int(inner)
