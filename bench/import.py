"""Import benchmark: synthetic contacts through the real pipeline on Postgres + RabbitMQ, against a naive baseline.

    make services && .venv/bin/python bench/import.py [--contacts 100000] [--baseline 3000] [--million] [--repeat 3]

What it does, all in one run:
1. A fresh Postgres database `sixdeg_bench`, migrated; one user per run.
2. Seeded Faker contacts: about 30 % phone-only; 20 % of the people appear in a second source (a vCard file that
   repeats their email or phone, so they must merge with the CSV's people).
3. Real worker processes, as kubernetes/base/workers.yaml runs them: `dramatiq actors --queues imports
   maintenance --threads 2` (the import worker, whose memory is measured) and `--queues projections --threads 4`;
   `sixdeg import ... --json` sends each file through RabbitMQ and waits until the import is done. Contacts per
   second = contacts imported / the imports' time from request to `done` (each import's `requested_at` to its
   `finished_at`, as the server recorded them). The time the CLI takes around that (starting Python, checking
   the schema, connecting to the broker, noticing `done` within its 0.2 s poll; about 1.2 s per command here) is
   reported beside it as the CLI's wall-clock rate. The import worker's peak RSS is sampled from /proc.
4. Baseline, same run: the naive approach, one transaction per contact (the same resolution code, batch size 1),
   on the first `--baseline` contacts.
5. `--million`: a 1,000,000-row CSV, to show that worker memory does not grow with file size.
6. `--repeat N`: steps 1 and 3 N times, each into a fresh database; the figures are the median run's (all N rates
   are printed and recorded), since this machine's speed varies by ±10 % from one run to the next.

Figures are printed and written to bench/results/import.json (and import-<time>.json).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from faker import Faker  # noqa: E402

from bench.common import BIN, PASSWORD, database_url, figure, fresh_database, sixdeg, write_results  # noqa: E402

BENCH_DATABASE = "sixdeg_bench"
AMQP_URL = os.environ.get("SIXDEG_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
GOOGLE_HEADER = [
    "First Name",
    "Last Name",
    "Organization Name",
    "Organization Title",
    "E-mail 1 - Value",
    "Phone 1 - Value",
]


def email_address(first: str, last: str, index: int, domain: str) -> str:
    """A valid address for a generated person (surnames such as "Da Silva" hold spaces)."""
    return f"{first}.{last}.{index}@{domain}".lower().replace(" ", "")


def people(count: int, seed: int) -> list[dict]:
    """`count` synthetic people; about 30 % have only a phone number."""
    fake = Faker(["en_US", "de_DE", "fr_FR"])
    Faker.seed(seed)
    rng = random.Random(seed)
    result = []
    for index in range(count):
        first, last = fake.first_name(), fake.last_name()
        phone_only = rng.random() < 0.30
        result.append(
            {
                "first": first,
                "last": last,
                "company": None if phone_only else fake.company(),
                "title": None if phone_only else fake.job(),
                "email": None if phone_only else email_address(first, last, index, fake.free_email_domain()),
                "phone": f"+1202{index:07d}" if phone_only or rng.random() < 0.5 else None,
            }
        )
    return result


def write_google_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GOOGLE_HEADER)
        for p in rows:
            writer.writerow(
                [p["first"], p["last"], p["company"] or "", p["title"] or "", p["email"] or "", p["phone"] or ""]
            )


def write_vcards(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for p in rows:
            handle.write(
                f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:{p['last']};{p['first']};;;\r\nFN:{p['first']} {p['last']}\r\n"
            )
            if p["email"]:
                handle.write(f"EMAIL;TYPE=INTERNET:{p['email']}\r\n")
            if p["phone"]:
                handle.write(f"TEL;TYPE=CELL:{p['phone']}\r\n")
            handle.write("END:VCARD\r\n")


class RssSampler(threading.Thread):
    """Peak resident memory of a process and its children, sampled from /proc every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.peak_single_kib, self.stop = pid, 0, 0, threading.Event()

    def _tree(self) -> list[int]:
        pids, queue = [], [self.pid]
        while queue:
            pid = queue.pop()
            pids.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            queue.extend(int(c) for c in children)
        return pids

    def run(self) -> None:
        while not self.stop.is_set():
            sizes = []
            for pid in self._tree():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            sizes.append(int(line.split()[1]))
                except OSError:
                    pass
            if sizes:
                self.peak_kib = max(self.peak_kib, sum(sizes))
                self.peak_single_kib = max(self.peak_single_kib, max(sizes))
            self.stop.wait(0.2)


def timed_import(env: dict, path: Path, email: str) -> dict:
    started = time.perf_counter()
    summary = json.loads(sixdeg(env, "import", str(path), "--user", email, "--json").strip().splitlines()[-1])
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    return summary


def naive_baseline(env: dict, path: Path, email: str, limit: int) -> dict:
    """One transaction per contact: parse, normalize, resolve and write each row on its own."""
    os.environ.update(env)
    from pipelines.config import Config
    from pipelines.contacts.ingest import BatchTarget, ingest_batch
    from pipelines.contacts.normalize import normalize
    from pipelines.contacts.parse import parse_file
    from pipelines.contacts.records import RowError
    from pipelines.db import unit_of_work
    from pipelines.models import Source, SourceKind, User

    config = Config.from_env()
    with unit_of_work(config) as session:
        user = session.query(User).filter_by(email=email).one()
        source = Source(user_id=user.id, kind=SourceKind.csv, name="naive")
        session.add(source)
        session.flush()
        target = BatchTarget(user.id, user.person_id, source.id)
    done, started = 0, time.perf_counter()
    for record in parse_file(path, "google"):
        if done >= limit:
            break
        if isinstance(record, RowError):
            continue
        contact = normalize(record, "US")
        if isinstance(contact, RowError):
            continue
        with unit_of_work(config) as session:
            ingest_batch(session, target, [contact])
        done += 1
    seconds = time.perf_counter() - started
    return {"contacts": done, "seconds": round(seconds, 2), "contacts_per_second": round(done / seconds, 1)}


def start_worker(env: dict, work: Path, queues: list[str], threads: int, log: str) -> subprocess.Popen:
    """A `dramatiq actors` process as kubernetes/base/workers.yaml runs it, logging to `work/log`."""
    command = [str(BIN / "dramatiq"), "actors", "--processes", "1", "--threads", str(threads), "--queues", *queues]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(work / log).open("a"))


def prepare_database(env: dict) -> None:
    """A fresh, migrated benchmark database with the two users."""
    fresh_database(BENCH_DATABASE)
    sixdeg(env, "migrate")
    sixdeg(env, "user", "create", "bench@example.com", stdin=f"{PASSWORD}\n")
    sixdeg(env, "user", "create", "naive@example.com", stdin=f"{PASSWORD}\n")


def run_pipeline(env: dict, work: Path, files: tuple[Path, Path], threads: int, million: Path | None) -> dict:
    """The two files (and the 1,000,000-row one) through the real pipeline into the prepared database."""
    # As kubernetes/base/workers.yaml deploys them: imports and projections in separate worker processes, so
    # the graph and search projections do not take the import's interpreter (GIL) while it streams a file.
    worker = start_worker(env, work, ["imports", "maintenance"], threads, "worker.log")
    projector = start_worker(env, work, ["projections"], 4, "projections.log")
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        time.sleep(3)
        started = time.perf_counter()
        first = timed_import(env, files[0], "bench@example.com")
        second = timed_import(env, files[1], "bench@example.com")
        wall = time.perf_counter() - started
        seconds = first["seconds"] + second["seconds"]  # request to done, as the server recorded them
        imported = first["rows"] + second["rows"]
        ours = {
            "contacts": imported,
            "seconds": round(seconds, 2),
            "contacts_per_second": round(imported / seconds, 1),
            "cli_wall_seconds": round(wall, 2),
            "cli_contacts_per_second": round(imported / wall, 1),
            "csv": first,
            "vcard": second,
            "worker_peak_rss_mib": round(sampler.peak_kib / 1024, 1),
        }
        if million is not None:
            sampler.peak_kib = sampler.peak_single_kib = 0
            summary = timed_import(env, million, "bench@example.com")
            ours["million"] = {
                "rows": summary["rows"],
                "seconds": summary["seconds"],
                "contacts_per_second": round(summary["rows"] / summary["seconds"], 1),
                "cli_wall_seconds": summary["wall_seconds"],
                "worker_peak_rss_mib": round(sampler.peak_kib / 1024, 1),
                "file_mib": round(million.stat().st_size / 2**20, 1),
            }
    finally:
        sampler.stop.set()
        for process in (worker, projector):
            process.terminate()
            process.wait(60)
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=3_000, help="contacts for the naive baseline")
    parser.add_argument("--million", action="store_true", help="also import a 1,000,000-row file (memory)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the import worker")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="import the files this many times, each into a fresh database; the figure is the median run",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sixdeg-bench-"))
    env = {
        **os.environ,
        "SIXDEG_DATABASE_URL": database_url(BENCH_DATABASE),
        "SIXDEG_BROKER_URL": AMQP_URL,
        "SIXDEG_DATA_DIR": str(work / "var"),
        "SIXDEG_WORKER_PREFETCH": "2",
    }

    total = args.contacts
    in_two_sources = int(total * 0.2 / 1.2)  # 20 % of people have a second contact
    everyone = people(total - in_two_sources, seed=42)
    csv_path, vcf_path = work / "google.csv", work / "phone.vcf"
    write_google_csv(csv_path, everyone)
    write_vcards(vcf_path, random.Random(7).sample(everyone, in_two_sources))
    big = None
    if args.million:
        big = work / "million.csv"
        write_google_csv(big, people(1_000_000, seed=1))

    runs = []
    for repetition in range(max(1, args.repeat)):
        prepare_database(env)
        last = repetition == max(1, args.repeat) - 1
        runs.append(run_pipeline(env, work, (csv_path, vcf_path), args.threads, big if last else None))
        print(f"run {repetition + 1}: {runs[-1]['contacts_per_second']:,.0f} contacts/s", flush=True)
    million = runs[-1].pop("million", None)
    ours = sorted(runs, key=lambda run: run["contacts_per_second"])[(len(runs) - 1) // 2]
    ours["runs_contacts_per_second"] = [run["contacts_per_second"] for run in runs]
    baseline = naive_baseline(env, csv_path, "naive@example.com", args.baseline)

    results = {
        "ours": ours,
        "naive_baseline": baseline,
        "speedup": round(ours["contacts_per_second"] / baseline["contacts_per_second"], 1),
        "million": million,
    }
    print(
        f"sixdeg pipeline : {ours['contacts']:>9,} contacts in {ours['seconds']:>7.1f} s = "
        f"{ours['contacts_per_second']:>8,.0f} contacts/s (request to done), worker peak RSS "
        f"{ours['worker_peak_rss_mib']} MiB"
        + (
            f" (the median of {len(runs)} runs: {', '.join(f'{r:,.0f}' for r in ours['runs_contacts_per_second'])})"
            if len(runs) > 1
            else ""
        )
    )
    print(
        f"  with the CLI  : {ours['cli_wall_seconds']:>7.1f} s wall-clock for the two `sixdeg import` commands = "
        f"{ours['cli_contacts_per_second']:>8,.0f} contacts/s"
    )
    print(
        f"naive baseline  : {baseline['contacts']:>9,} contacts in {baseline['seconds']:>7.1f} s = "
        f"{baseline['contacts_per_second']:>8,.0f} contacts/s (one transaction per contact)"
    )
    print(f"speedup         : {results['speedup']}x")
    if million:
        print(
            f"1,000,000 rows  : {million['seconds']} s, {million['contacts_per_second']:,.0f} contacts/s, "
            f"worker peak RSS {million['worker_peak_rss_mib']} MiB ({million['file_mib']} MiB file)"
        )
    figures = [
        figure(
            f"Import: contacts per second ({ours['contacts']:,} contacts, Postgres + RabbitMQ)",
            ours["contacts_per_second"],
            "contacts/s",
            better="higher",
            goal=5000,
            goal_note="issue 4, at 100,000 contacts" + (f"; the median of {len(runs)} runs" if len(runs) > 1 else ""),
            baseline=baseline["contacts_per_second"],
            baseline_name="one transaction per contact",
        ),
        figure(
            "Import: contacts per second, wall-clock of the `sixdeg import` commands",
            ours["cli_contacts_per_second"],
            "contacts/s",
            better="higher",
        ),
        figure("Import: worker peak RSS", ours["worker_peak_rss_mib"], "MiB", better="lower"),
    ]
    if million:
        figures.append(
            figure(
                "Import: worker peak RSS, 1,000,000-row file",
                million["worker_peak_rss_mib"],
                "MiB",
                better="lower",
                goal=300,
                goal_note="issue 4",
            )
        )
    out = write_results("import", results, figures=figures, options=vars(args))
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
