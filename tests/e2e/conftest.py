"""Browser tests: Debian's Chromium driven by Playwright (no browser download) against a running `sixdeg serve
--demo` on real Postgres, serving the built app from web/dist. Screenshots of every screen go to
var/screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT, embedded_config, truncate_all
from tests.support.serve import start_serve, wait_until_healthy

SCREENSHOTS = ROOT / "var" / "screenshots"
WEB_DIST = ROOT / "web" / "dist"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(what, pytrace=False)
    pytest.skip(what)


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path
    output: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        _missing("Debian's chromium is not installed: run `bash servers/services.sh browser` (make test does)")
    return path


@pytest.fixture(scope="session")
def built_app() -> Path:
    if not (WEB_DIST / "index.html").is_file():
        _missing("the browser app is not built: run `make web`")
    return WEB_DIST


@pytest.fixture(scope="module")
def server(built_app: Path, migrated_postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`sixdeg serve --demo` on an emptied Postgres database (API, worker threads and scheduler in one process)."""
    data_dir = tmp_path_factory.mktemp("e2e-var")
    truncate_all(embedded_config(data_dir, database_url=migrated_postgres_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
    env.update(
        SIXDEG_DATA_DIR=str(data_dir),
        SIXDEG_DATABASE_URL=migrated_postgres_url,
        SIXDEG_WEB_DIR=str(built_app),
        SIXDEG_RATELIMIT_AUTH="1000/minute",
    )
    log = data_dir / "serve.log"
    with log.open("w") as sink:
        process, base = start_serve(env, "--demo", output=sink)
    problem = wait_until_healthy(process, base, 180)
    if problem:
        process.kill()
        pytest.fail(f"{problem}:\n{log.read_text()[-3000:]}", pytrace=False)
    yield Server(base, process, log)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class ConsoleErrors(list):
    """Console errors and uncaught exceptions of a page: a working app logs none."""

    def attach(self, page) -> None:
        page.on("console", lambda message: self.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.append(str(error)))


@pytest.fixture
def page(browser, server: Server):
    # bypass_csp: the accessibility checks inject axe-core, which the app's Content-Security-Policy would refuse.
    context = browser.new_context(base_url=server.base, viewport={"width": 1280, "height": 860}, bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = ConsoleErrors()
    page.console_errors.attach(page)
    yield page
    context.close()


AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


def accessibility_problems(page) -> list[str]:
    """Serious and critical WCAG 2 A/AA violations axe-core finds on the page as it is now."""
    if not AXE.is_file():
        _missing("axe-core is not installed: run `make web` (npm ci in web/)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in {"serious", "critical"}
    ]


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
