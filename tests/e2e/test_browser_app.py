"""The browser app end to end in real headless Chromium: a newcomer signs up, imports a real vCard and a real
LinkedIn export, watches the imports finish, finds someone despite a typo, sees how they are connected, explores
the network and changes sharing; the demo account shows a network of several hops. Every screen is
screenshotted into var/screenshots/."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.conftest import SHARED_DATA
from tests.e2e.conftest import accessibility_problems, screenshot

VCARD = SHARED_DATA / "vcards" / "ez-vcard" / "John_Doe_ANDROID.vcf"
LINKEDIN = SHARED_DATA / "contact-csv" / "linkedin" / "sanketmuchhala__sample_connections.csv"
PASSWORD = "correct horse battery staple"
GRAPH_DRAWN = "() => window.__sixdegCy !== undefined && window.__sixdegCy.nodes().length > 1"


def sign_up(page) -> str:
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/signup")
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-password").fill(PASSWORD)
    page.get_by_test_id("signup-submit").click()
    expect(page.get_by_test_id("nav-search")).to_be_visible()
    return email


def test_a_newcomer_imports_searches_finds_a_path_explores_and_shares(page):
    if not VCARD.is_file() or not LINKEDIN.is_file():
        pytest.skip(f"reference data not found under {SHARED_DATA}")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # not logged in: sent to log in
    screenshot(page, "01-login")
    sign_up(page)

    page.get_by_test_id("nav-import").click()
    expect(page.get_by_test_id("import-drop")).to_be_visible()
    screenshot(page, "02-import-empty")
    page.get_by_test_id("import-input").set_input_files([str(VCARD), str(LINKEDIN)])
    cards = page.get_by_test_id("import-card")
    expect(cards).to_have_count(2)
    for index in range(2):
        expect(cards.nth(index).get_by_test_id("import-status")).to_have_text(re.compile("done"), timeout=60_000)
    formats = {cards.nth(i).get_by_test_id("import-format").inner_text().lower() for i in range(2)}
    assert any("vcard" in f for f in formats) and any("linkedin" in f for f in formats), formats
    summaries = " ".join(cards.nth(i).get_by_test_id("import-summary").inner_text() for i in range(2))
    assert re.search(r"\b1[0-9]{2}\b", summaries), summaries  # the LinkedIn export holds 140 connections
    expect(page.get_by_test_id("import-history")).to_contain_text("sanketmuchhala__sample_connections.csv")
    screenshot(page, "03-import-done")

    page.get_by_test_id("nav-search").click()
    search = page.get_by_test_id("search-input")
    search.fill("Peper Pots")  # two typos
    expect(page.get_by_test_id("search-result").first).to_contain_text("Pepper Potts")
    expect(page.get_by_test_id("search-result").first.get_by_test_id("degree-badge")).to_contain_text("1")
    expect(page.get_by_test_id("facet-company").first).to_be_visible()
    screenshot(page, "04-search")
    search.fill("Tony")
    expect(page.get_by_test_id("search-suggestion").first).to_contain_text("Tony")
    screenshot(page, "05-suggestions")
    search.fill("Peper Pots")
    expect(page.get_by_test_id("search-result").first).to_contain_text("Pepper Potts")
    search.press("Escape")  # close the suggestions, then open the result
    expect(page.get_by_test_id("search-suggestions")).to_be_hidden()
    page.get_by_test_id("search-result").first.get_by_role("link").first.click()

    expect(page.get_by_test_id("person-name")).to_have_text(re.compile("Pepper Potts"))
    expect(page.get_by_test_id("path-item").first).to_be_visible()
    expect(page.get_by_test_id("hop-item").first).to_be_visible()
    expect(page.get_by_test_id("paths-graph").locator("canvas").first).to_be_attached()
    expect(page.get_by_test_id("contact-source").first).to_contain_text(re.compile("linkedin", re.I))
    screenshot(page, "06-person")

    page.get_by_test_id("nav-explore").click()
    expect(page.get_by_test_id("explore-count")).to_contain_text(re.compile(r"[1-9][0-9]* people"))
    page.wait_for_function(GRAPH_DRAWN)
    count = page.evaluate("() => window.__sixdegCy.nodes().length")
    assert count >= 140, count  # the user, 140 LinkedIn connections and the vCard's people
    screenshot(page, "07-explore")

    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("sharing-network").check()
    expect(page.get_by_test_id("sharing-saved")).to_be_visible()
    assert page.request.get("/v1/me").json()["sharing"] == "network"
    screenshot(page, "08-settings")

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert page.console_errors == [], page.console_errors


def test_the_demo_shows_a_network_of_several_hops(page):
    page.goto("/login")
    page.get_by_role("button", name=re.compile("demo", re.I)).click()
    expect(page.get_by_test_id("network-stats")).to_be_visible()
    stats = page.request.get("/v1/network/stats").json()["degrees"]
    assert stats["1"] >= 200 and stats["2"] > 0 and stats["3"] > 0, stats
    screenshot(page, "10-demo-search")

    page.get_by_test_id("nav-explore").click()
    expect(page.get_by_test_id("explore-count")).to_contain_text("people")
    page.wait_for_function(GRAPH_DRAWN)
    before = page.evaluate("() => window.__sixdegCy.nodes().length")
    assert before > 200
    screenshot(page, "11-demo-explore")
    far = page.evaluate("() => window.__sixdegCy.nodes().filter(n => n.data('distance') === 2).map(n => n.id())[0]")
    assert far is not None
    page.evaluate(f"() => window.__sixdegCy.getElementById('{far}').emit('tap')")
    expect(page.get_by_test_id("explore-node-panel")).to_be_visible()
    page.get_by_test_id("explore-expand").click()
    page.wait_for_function(f"() => window.__sixdegCy.nodes().length > {before}", timeout=20_000)
    screenshot(page, "12-demo-explore-expanded")

    company = page.request.get("/v1/people?limit=1").json()["facets"]["companies"][0]["company"]
    page.get_by_test_id("nav-reach").click()
    page.get_by_test_id("reach-input").fill(company)
    page.get_by_test_id("reach-submit").click()
    expect(page.get_by_test_id("reach-result").first).to_be_visible()
    screenshot(page, "13-demo-reach")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/search")
    expect(page.get_by_test_id("search-input")).to_be_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the search page is {overflow}px wider than a phone screen"
    screenshot(page, "14-phone-search")
    assert page.console_errors == [], page.console_errors


def test_every_screen_meets_wcag_aa_as_axe_checks_it(page):
    page.goto("/login")
    expect(page.get_by_test_id("login-email")).to_be_visible()
    problems = {"login": accessibility_problems(page)}
    page.get_by_role("button", name=re.compile("demo", re.I)).click()
    expect(page.get_by_test_id("network-stats")).to_be_visible()
    page.get_by_test_id("search-input").fill("a")
    expect(page.get_by_test_id("search-result").first).to_be_visible()
    page.get_by_test_id("search-input").press("Escape")
    problems["search"] = accessibility_problems(page)
    second = page.request.get("/v1/people?degree=2&limit=1").json()["items"][0]["id"]
    page.goto(f"/people/{second}")  # someone two hops away: a path with evidence, mutual connections
    expect(page.get_by_test_id("person-name")).to_be_visible()
    expect(page.get_by_test_id("path-item").first).to_be_visible()
    problems["person"] = accessibility_problems(page)
    for screen, ready in (
        ("explore", "explore-count"),
        ("reach", "reach-input"),
        ("import", "import-drop"),
        ("settings", "sharing-private"),
    ):
        page.get_by_test_id(f"nav-{screen}").click()
        expect(page.get_by_test_id(ready)).to_be_visible()
        problems[screen] = accessibility_problems(page)
    found = {screen: issues for screen, issues in problems.items() if issues}
    assert not found, found
