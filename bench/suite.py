"""Run every benchmark at its suite size, one after the other, then regenerate docs/benchmarks.md (`make bench`).

    .venv/bin/python bench/suite.py [--only import,paths] [--full]

The suite sizes below keep the whole run well under 30 minutes on 2 cores; each script run directly (or with
`--full`) uses its full default size. A benchmark that fails does not stop the others; the exit status is 1 if
any failed, and its previous results stay in the report with their own date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# name -> the options of its suite size (documented in docs/benchmarks.md)
SUITE: dict[str, list[str]] = {
    "import": ["--contacts", "20000", "--baseline", "500"],
    "paths": ["--graphs", "enron", "--queries", "300"],
    "search": ["--people", "20000", "--queries", "300"],
    "webhooks": ["--events", "2000", "--rate", "500", "--rate-seconds", "5"],
    "backup": ["--contacts", "100000", "--requests", "500"],
    "web": ["--runs", "3", "--seconds", "3"],
    "api_load": ["--contacts", "2000", "--seconds", "5"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="Comma-separated benchmarks to run (default: all).")
    parser.add_argument("--full", action="store_true", help="Each benchmark's full size (hours, not minutes).")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SUITE)
    unknown = [name for name in names if name not in SUITE]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(SUITE)}")
    timings, failed = {}, []
    suite_started = time.perf_counter()
    for name in names:
        command = [PYTHON, str(ROOT / "bench" / f"{name}.py"), *([] if args.full else SUITE[name])]
        print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=False)
        timings[name] = time.perf_counter() - started
        if done.returncode != 0:
            failed.append(name)
            print(f"=== {name} FAILED (exit {done.returncode})", flush=True)
    total = time.perf_counter() - suite_started
    print("\n=== timings")
    for name, seconds in timings.items():
        print(f"{name:10} {seconds / 60:5.1f} min{'  FAILED' if name in failed else ''}")
    print(f"{'total':10} {total / 60:5.1f} min", flush=True)
    subprocess.run([PYTHON, str(ROOT / "bench" / "report.py")], cwd=ROOT, check=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
