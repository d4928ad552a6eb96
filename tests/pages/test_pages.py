"""The public pages in a real headless Chromium: they render from the demo district,
their figures match the JSON API, axe-core finds no accessibility violation, they fit a
phone's width without JavaScript, and the QR code on a certificate opens its check page."""

from __future__ import annotations

import io
import json
from typing import Any, Callable

import pypdf
import pytest
import requests
import zxingcpp
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from services.demo import DemoApi, load_demo
from services.gateway.pages.data import this_year
from services.gateway.pages.format import hours, yuan
from tests.harness import Stack
from tests.pages.browser import PHONE, axe_source, axe_violations, chromium, overflows_horizontally, screenshots
from tests.security.credentials import bearer

SERVICES = ("registry", "tickets", "hours", "fund", "activities", "gateway")


@pytest.fixture
def district(
    make_config: Callable[..., dict[str, Any]], container_factory: Any, pg_url: str, http: requests.Session
) -> dict[str, Any]:
    """Every service in-process on PostgreSQL, with the demo district loaded."""
    config = make_config(pg_url)
    config["PUBLIC_URL"] = "http://" + config["WEB_SERVER_ADDRESS"]  # what the QR codes point at
    s = Stack.start(SERVICES, config, container_factory)
    loaded = load_demo(s.url, DemoApi(s.url, identity_headers=bearer, session=http))
    assert loaded["loaded"] and loaded["communities"]
    communities = http.get(f"{s.url}/api/v1/places", params={"level": "community", "limit": 200}).json()["items"]
    return {
        "url": s.url,
        "communities": communities,
        "certificate": {"id": loaded["certificate_id"], "number": loaded["certificate_number"]},
    }


def figures(driver: Any) -> dict[str, str]:
    """Every ``data-figure`` on the page: what a resident reads, keyed by the API field."""
    return {
        e.get_attribute("data-figure"): e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, "[data-figure]")
    }


def open_page(driver: Any, url: str, name: str, axe: str) -> str:
    """Load a page, check it as a resident's phone would see it, save its screenshots."""
    html = requests.get(url, timeout=30)
    assert html.status_code == 200, html.text
    assert html.headers["Content-Type"].startswith("text/html")
    assert "<script" not in html.text.lower(), "the public pages work without JavaScript"
    driver.get(url)
    assert driver.find_element(By.TAG_NAME, "h1").text.strip()
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert axe_violations(driver, axe) == [], name
    assert not overflows_horizontally(driver, PHONE[0]), f"{name} scrolls sideways on a phone"
    for path in screenshots(driver, name):
        assert path.stat().st_size > 5_000, path
    return html.text


def certificate_link(pdf: bytes) -> str:
    """The text of the QR code printed on a certificate PDF."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    found = [r.text for image in page.images for r in zxingcpp.read_barcodes(image.image)]
    assert len(found) == 1, found
    return found[0]


def test_public_pages_in_chromium(district: dict[str, Any], http: requests.Session) -> None:
    url, year = district["url"], this_year()
    anonymous = requests.Session()  # the pages need no login
    axe = axe_source()
    with chromium() as driver:
        # District indicators: counts and sums over every community, as the API gives them.
        open_page(driver, f"{url}/pages/district", "district", axe)
        shown = figures(driver)
        teams = http.get(f"{url}/api/v1/teams", params={"limit": 200}).json()["items"]
        reports = [
            anonymous.get(f"{url}/api/v1/fund/communities/{c['id']}/transparency", params={"year": year}).json()
            for c in district["communities"]
        ]
        assert shown["communities"] == str(len(district["communities"]))
        assert shown["teams"] == str(len(teams))
        assert shown["professional_teams"] == str(sum(1 for t in teams if t["professional"]))
        for key, api_key in (
            ("balance_fen", "closing_balance_fen"),
            ("contributions_fen", "contributions_fen"),
            ("disbursements_fen", "disbursements_fen"),
        ):
            assert shown[key] == yuan(sum(r[api_key] for r in reports)), key
        indicators = anonymous.get(
            f"{url}/api/v1/indicators",
            params={"from": f"{year}-01-01", "to": f"{year}-12-31"},
            headers=bearer("resident"),
        ).json()["figures"]
        for key in ("volunteers", "disputes_handled", "suggestions_collected"):  # hours arrive by events: not compared
            assert shown[f"indicator_{key}"] == str(int(indicators[key])), key
        assert int(shown["indicator_suggestions_collected"]) > 0 and int(shown["indicator_disputes_handled"]) > 0

        # The fund report of the community that has money moving, reached by its link.
        busiest = max(reports, key=lambda r: r["contributions_fen"] + r["disbursements_fen"])
        assert busiest["contributions_fen"] > 0, "the demo pays a contribution into a pool"
        driver.find_element(By.CSS_SELECTOR, f"a[href='/pages/fund/{busiest['community_id']}?year={year}']").click()
        page = f"{url}/pages/fund/{busiest['community_id']}?year={year}"
        assert driver.current_url == page
        html = open_page(driver, page, "fund", axe)
        shown = figures(driver)
        for key in ("opening_balance_fen", "contributions_fen", "disbursements_fen", "closing_balance_fen"):
            assert shown[key] == yuan(busiest[key]), key
        chart = driver.find_element(By.CSS_SELECTOR, "svg[role=img]")
        bars = chart.find_elements(By.TAG_NAME, "rect")
        assert len(bars) == 2 and float(bars[0].get_attribute("width")) > 0
        for line in busiest["contributions"]:
            assert line["enterprise_name"] in html and yuan(line["amount_fen"]) in html

        # The certificate check: a genuine number, and one that is not.
        cert = district["certificate"]
        pdf = http.get(f"{url}/api/v1/hours/certificates/{cert['id']}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        link = certificate_link(pdf.content)
        assert link == f"{url}/pages/certificates/check?number={cert['number']}"
        assert anonymous.get(link, timeout=30).status_code == 200
        html = open_page(driver, link, "certificate", axe)
        api = anonymous.get(f"{url}/api/v1/hours/certificates/verify", params={"number": cert["number"]}).json()
        shown = figures(driver)
        assert api["valid"] is True and "valid" in shown
        assert shown["number"] == api["certificate"]["number"]
        assert shown["minutes"] == str(api["certificate"]["minutes"])
        assert shown["hours"] == hours(api["certificate"]["minutes"])
        assert shown["organisation_name"] == api["certificate"]["organisation_name"]
        full = http.get(f"{url}/api/v1/hours/certificates/{cert['id']}").json()
        for personal in (full["volunteer_name"], full["id_number"], full["volunteer_number"]):
            assert personal not in html, "no personal data on a public page"
            assert personal not in json.dumps(api, ensure_ascii=False), "nor in the public check's answer"

        # A resident types a number that is not genuine into the form (a plain GET form).
        driver.get(f"{url}/pages/certificates/check")
        box = driver.find_element(By.ID, "number")
        box.send_keys(cert["number"][:-1] + ("0" if cert["number"][-1] != "0" else "1"))
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # the click returns before the answer page has loaded on a busy machine
        WebDriverWait(driver, 30).until(lambda d: "invalid" in figures(d))
        assert "valid" not in figures(driver)
        assert axe_violations(driver, axe) == []


def test_pages_answer_bad_input_with_a_page_naming_the_field(stack: Any) -> None:
    s = stack("registry", "fund", "hours", "gateway")
    cases = [
        ("/pages/fund/not-an-id", 422, "community_id"),
        ("/pages/fund/00000000-0000-4000-8000-000000000000?year=twenty", 422, "year"),
        ("/pages/fund/00000000-0000-4000-8000-000000000000", 404, "place"),
        ("/pages/district?year=1800", 422, "year"),
        ("/pages/certificates/check?number=nonsense", 422, 'data-figure="invalid"'),
    ]
    for path, status, named in cases:
        response = requests.get(s.url + path, timeout=30)
        assert response.status_code == status, (path, response.text)
        assert response.headers["Content-Type"].startswith("text/html")
        assert named in response.text, (path, response.text)
    empty = requests.get(s.url + "/pages/district", timeout=30)
    assert empty.status_code == 200 and 'data-figure="communities">0<' in empty.text
