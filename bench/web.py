"""The browser app's speed, measured in Debian's headless Chromium through Playwright.

- First-page JavaScript: gzipped bytes the search page loads (entry script plus its preloaded chunks), against
  the whole app's JavaScript (what one unsplit bundle would ship). Goal: at most 300 KB.
- Time to interactive of the search page: from navigation start until the search box is visible and enabled and
  the page has no network activity, cold (empty cache) and warm, median of several runs.
- Explorer frame time while panning 2,000 nodes: frames measured with requestAnimationFrame while the view pans
  every frame, with the explorer's settings (texture while moving, edges hidden while moving, labels only when
  zoomed in) against cytoscape's defaults (`/explore?renderer=default`). Goal: above 30 fps.

Runs `sixdeg serve --demo` on embedded SQLite (what `make run` starts) with 2,000 more contacts imported into
the demo account so the explorer has 2,000 people to draw. Needs `make web` and Debian's chromium.

    .venv/bin/python bench/web.py [--runs 7] [--seconds 5]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from faker import Faker
from playwright.sync_api import Browser, BrowserContext, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DATA, ROOT, figure, percentile, served, sixdeg, write_results
from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD

DIST = ROOT / "web" / "dist"
FACEBOOK = DATA / "snap-ego-facebook" / "facebook_combined.txt"
DENSE_CENTER = "key:107"  # a hub of the SNAP Facebook graph: its 2-hop neighbourhood passes 2,000 people
BUDGET_KB = 300
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

MEASURE_PAN = """async (seconds) => {
  const cy = window.__sixdegCy;
  const frames = [];
  let last = performance.now();
  const end = last + seconds * 1000;
  let step = 0;
  await new Promise((done) => {
    function frame(now) {
      frames.push(now - last);
      last = now;
      step += 1;
      cy.panBy({ x: 6 * Math.cos(step / 30), y: 6 * Math.sin(step / 30) });
      if (now < end) requestAnimationFrame(frame); else done();
    }
    requestAnimationFrame(frame);
  });
  return frames.slice(1);
}"""


def gzipped_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), 9)) / 1024


def first_page_js() -> tuple[float, float, list[str]]:
    """(first page KB, whole app KB, first page files), gzipped."""
    index = (DIST / "index.html").read_text()
    first = sorted(set(re.findall(r'(?:src|href)="/?(assets/[^"]+\.js)"', index)))
    whole = sorted(str(p.relative_to(DIST)) for p in (DIST / "assets").glob("*.js"))
    return (sum(gzipped_kb(DIST / f) for f in first), sum(gzipped_kb(DIST / f) for f in whole), first)


def write_connections(path: Path, count: int, seed: int = 2000) -> None:
    """A LinkedIn Connections.csv of `count` people at a few dozen companies."""
    fake = Faker()
    Faker.seed(seed)
    rng = random.Random(seed)
    companies = [fake.company() for _ in range(40)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"])
        for index in range(count):
            first, last = fake.first_name(), fake.last_name()
            writer.writerow(
                [
                    first,
                    last,
                    f"https://www.linkedin.com/in/bench-{index}-{first.lower()}",
                    "",
                    rng.choice(companies[: rng.choice((5, 15, 40))]),
                    fake.job(),
                    fake.date_between("-8y").strftime("%d %b %Y"),
                ]
            )


def log_in(context: BrowserContext, base: str) -> None:
    response = context.request.post(f"{base}/v1/auth/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.ok, response.text()


SEARCH_USABLE = """() => {
  const box = document.querySelector('[data-testid=search-input]');
  return box && !box.disabled && box.offsetParent !== null ? performance.now() : false;
}"""
STATS_SHOWN = """() => document.querySelector('[data-testid=network-stats]') ? performance.now() : false"""


def time_to_interactive(browser: Browser, base: str, runs: int) -> dict[str, float]:
    """Milliseconds from navigation start until the search box takes input, and until the network figures show
    (the page's data arrived), cold (empty cache) and warm; median and p90 over `runs` page loads."""
    results: dict[str, list[float]] = {}
    for _ in range(runs):
        context = browser.new_context(base_url=base)
        log_in(context, base)
        page = context.new_page()
        for cache in ("cold", "warm"):
            page.goto("/search", wait_until="commit")
            usable = page.wait_for_function(SEARCH_USABLE, polling="raf").json_value()
            shown = page.wait_for_function(STATS_SHOWN, polling="raf").json_value()
            results.setdefault(f"{cache}_interactive", []).append(usable)
            results.setdefault(f"{cache}_data", []).append(shown)
        context.close()
    return {
        f"{name}_{stat}": round(fn(values), 1)
        for name, values in results.items()
        for stat, fn in (("median_ms", statistics.median), ("p90_ms", lambda v: percentile(v, 0.9)))
    }


def pan_frames(browser: Browser, base: str, query: str, seconds: float) -> dict[str, float]:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 860})
    log_in(context, base)
    page = context.new_page()
    page.goto(f"/explore{query}")
    page.get_by_test_id("explore-count").wait_for()
    page.wait_for_function("() => window.__sixdegCy && window.__sixdegCy.nodes().length > 0", timeout=60_000)
    page.wait_for_timeout(1500)  # layout settles
    nodes = page.evaluate("() => window.__sixdegCy.nodes().length")
    edges = page.evaluate("() => window.__sixdegCy.edges().length")
    frames = page.evaluate(MEASURE_PAN, seconds)
    context.close()
    mean = statistics.mean(frames)
    return {
        "nodes": nodes,
        "edges": edges,
        "frames": len(frames),
        "fps": round(1000 / mean, 1),
        "frame_ms_median": round(statistics.median(frames), 1),
        "frame_ms_p95": round(percentile(frames, 0.95), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Page loads per time-to-interactive figure.")
    parser.add_argument("--seconds", type=float, default=5.0, help="Seconds of panning per renderer.")
    parser.add_argument("--contacts", type=int, default=2000, help="Contacts added to the demo account.")
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        raise SystemExit("build the browser app first: make web")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("install Debian's chromium first: bash servers/services.sh browser")

    first_kb, whole_kb, first_files = first_page_js()
    print(f"first page JavaScript: {first_kb:.1f} KB gzipped ({', '.join(first_files)}); whole app {whole_kb:.1f} KB")

    with tempfile.TemporaryDirectory(prefix="sixdeg-bench-web-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIXDEG_")}
        env["SIXDEG_DATA_DIR"] = str(Path(tmp) / "var")
        env["SIXDEG_RATELIMIT_AUTH"] = "1000/minute"
        sixdeg(env, "migrate")
        print("seeding the demo network and importing", args.contacts, "more contacts …")
        sixdeg(env, "demo")
        connections = Path(tmp) / "Connections.csv"
        write_connections(connections, args.contacts)
        sixdeg(env, "import", str(connections), "--user", DEMO_EMAIL)
        dense = FACEBOOK.is_file()
        if dense:
            print("loading the SNAP Facebook graph for a dense explorer view …")
            sixdeg(env, "load-graph", str(FACEBOOK))
        with served(env, serve_args=("--demo",)) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            tti = time_to_interactive(browser, base, args.runs)
            for cache in ("cold", "warm"):
                print(
                    f"search page, {cache} cache: interactive {tti[f'{cache}_interactive_median_ms']} ms median"
                    f" (p90 {tti[f'{cache}_interactive_p90_ms']}), network figures shown"
                    f" {tti[f'{cache}_data_median_ms']} ms (p90 {tti[f'{cache}_data_p90_ms']})"
                )
            views = {"your network": ""}
            if dense:
                probe = browser.new_context(base_url=base)
                log_in(probe, base)
                center = probe.request.get(f"{base}/v1/paths?to={DENSE_CENTER}&max_hops=1").json()["target"]["id"]
                probe.close()
                views["dense (SNAP Facebook)"] = f"?around={center}&"
            pans = {}
            for view, query in views.items():
                start = query or "?"
                pans[view] = {
                    "ours": pan_frames(browser, base, query.rstrip("&"), args.seconds),
                    "baseline_cytoscape_defaults": pan_frames(browser, base, f"{start}renderer=default", args.seconds),
                }
            browser.close()
    for view, pair in pans.items():
        for name, figures in (
            ("explorer settings", pair["ours"]),
            ("cytoscape defaults", pair["baseline_cytoscape_defaults"]),
        ):
            print(
                f"{view}: panning {figures['nodes']} nodes / {figures['edges']} edges with {name}: {figures['fps']}"
                f" fps, frame median {figures['frame_ms_median']} ms, p95 {figures['frame_ms_p95']} ms"
                f" ({figures['frames']} frames)"
            )
    out = write_results(
        "web",
        {
            "first_page_js_kb_gzip": round(first_kb, 1),
            "whole_app_js_kb_gzip": round(whole_kb, 1),
            "first_page_budget_kb": BUDGET_KB,
            "first_page_files": first_files,
            "search_time_to_interactive": tti,
            "explorer_pan": pans,
            "goals_met": {
                "first_page_js": first_kb <= BUDGET_KB,
                "explorer_above_30_fps": all(pair["ours"]["fps"] > 30 for pair in pans.values()),
            },
        },
        figures=[
            figure(
                "Browser app: first-page JavaScript, gzipped",
                round(first_kb, 1),
                "KB",
                better="lower",
                goal=BUDGET_KB,
                baseline=round(whole_kb, 1),
                baseline_name="the whole app as one bundle",
            ),
            figure(
                "Search page interactive, cold cache (median)",
                tti["cold_interactive_median_ms"],
                "ms",
                better="lower",
            ),
            figure(
                "Search page interactive, warm cache (median)",
                tti["warm_interactive_median_ms"],
                "ms",
                better="lower",
            ),
            *(
                figure(
                    f"Explorer panning, {view}: {pair['ours']['nodes']:,} people, {pair['ours']['edges']:,} edges",
                    pair["ours"]["fps"],
                    "fps",
                    better="higher",
                    goal=30,
                    baseline=pair["baseline_cytoscape_defaults"]["fps"],
                    baseline_name="cytoscape defaults",
                )
                for view, pair in pans.items()
            ),
        ],
        options=vars(args),
    )
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
