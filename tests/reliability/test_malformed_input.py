"""Drill: malformed input at scale (docs/reliability.md, drill 5).

A 22,000-row Google CSV mixes 20,000 valid rows (some with odd but readable content: Latin-1 bytes in a UTF-8
file, an over-long field, a stray quote inside a value) with 2,000 bad ones: binary garbage, rows longer than
the record limit, a quote that opens a value and never closes, too many fields, rows with no name, email or
phone, and rows in another encoding (UTF-16). The real import (Postgres, the import actor's code) must import
every valid row and report every bad one, each at its own line, and nothing else.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipelines.contacts import importer
from pipelines.db import unit_of_work
from pipelines.models import Contact, Import, ImportError_, ImportStatus, User
from tests.support import drills

VALID = 20_000
#: Bad rows by kind (2,000 in all). A quote that never closes swallows the next 1,000 lines before it is given up
#: (then they are read again), so those are spread out; over-long rows are 300 KB each, so few.
BAD = {"binary": 700, "overlong": 20, "runaway_quote": 15, "too_many_fields": 450, "no_identity": 400, "utf16": 415}
HEADER = "First Name,Last Name,Organization Name,Organization Title,E-mail 1 - Value,Phone 1 - Value\n"
QUOTE_FREE_LINES = 1_001  # a runaway quote is given up after 1,000 more lines: no quote may close it before


def _valid(rng: random.Random, index: int, *, quotes: bool) -> tuple[bytes, str]:
    """A readable row; a few have odd content that must still import (the kind is returned)."""
    first, last = f"Given{index}", f"Family{index}"
    row = f"{first},{last},Company {index % 97},Engineer {index % 13},p{index}@malformed.example,\n"
    kind = rng.choices(["plain", "latin1", "long_field", "inner_quote"], [94, 2, 2, 2 if quotes else 0])[0]
    if kind == "latin1":  # Latin-1 bytes in a UTF-8 file: read as CP1252
        return f"Jos\xe9{index},M\xfcller,Caf\xe9 {index},Chef,p{index}@malformed.example,\n".encode("latin-1"), kind
    if kind == "long_field":  # 5,000 characters in a field: cut to the field limit, the row imports
        return row.replace(f"Engineer {index % 13}", "X" * 5_000).encode(), kind
    if kind == "inner_quote":  # a quote inside a value (not at its start) is a character, not quoting
        return row.replace(first, f'Ann "Annie" {index}').encode(), kind
    return row.encode(), kind


def _bad(rng: random.Random, kind: str, index: int) -> bytes:
    if kind == "binary":  # binary garbage (with NUL bytes), no line breaks or quotes inside
        noise = bytes(rng.choice([b for b in range(256) if b not in b'\n\r"']) for _ in range(rng.randint(10, 200)))
        return b"\x00" + noise + b"\n"
    if kind == "overlong":  # one physical line longer than the record limit (256 KiB)
        return f"Long{index},Row,{'Y' * 300_000},T,long{index}@malformed.example,\n".encode()
    if kind == "runaway_quote":  # a value opens a quote that never closes
        return f'"Unclosed{index},Quote,Co,T,q{index}@malformed.example,\n'.encode()
    if kind == "too_many_fields":  # an unquoted comma in a value
        return f"Many{index},Fields,Acme, Inc,CEO,m{index}@malformed.example,+12025550100,extra\n".encode()
    if kind == "no_identity":  # neither name nor email nor phone
        return f",,Nameless Co {index},Ghost,,\n".encode()
    if kind == "utf16":  # a row in another encoding (UTF-16 in a UTF-8 file)
        return f"Wide{index},Row,Co,T,w{index}@malformed.example,".encode("utf-16-le") + b"\n"
    raise AssertionError(kind)


def write_malformed_csv(path: Path, seed: int = 5) -> tuple[int, dict[int, str], Counter[str]]:
    """The file; returns the number of valid rows, the bad rows' line numbers (with their kinds), and the odd
    valid kinds. Bad rows start after 64 KiB (a binary head would refuse the whole file, as it should)."""
    rng = random.Random(seed)
    bad_plan = [kind for kind, count in BAD.items() for _ in range(count)]
    rng.shuffle(bad_plan)
    # Runaway quotes need QUOTE_FREE_LINES quote-free lines after them: spread them out, the rest anywhere.
    runaway = [k for k in bad_plan if k == "runaway_quote"]
    others = [k for k in bad_plan if k != "runaway_quote"]
    lines_total = 1 + VALID + len(bad_plan)
    first_bad_line = 1_500
    slots = sorted(rng.sample(range(first_bad_line, lines_total - QUOTE_FREE_LINES), len(others)))
    bad_at: dict[int, str] = dict(zip(slots, others, strict=True))
    spacing = (lines_total - first_bad_line - QUOTE_FREE_LINES) // max(1, len(runaway))
    assert spacing > QUOTE_FREE_LINES, "too many runaway quotes for the file size"
    for n, kind in enumerate(runaway):
        line = first_bad_line + n * spacing + 7
        while line in bad_at:
            line += 1
        bad_at[line] = kind
    odd: Counter[str] = Counter()
    valid = 0
    runaway_lines = sorted(line for line, kind in bad_at.items() if kind == "runaway_quote")
    with path.open("wb") as out:
        out.write(HEADER.encode())
        for line in range(2, lines_total + 1):
            if line in bad_at:
                out.write(_bad(rng, bad_at[line], line))
                continue
            near_runaway = any(0 < line - r <= QUOTE_FREE_LINES for r in runaway_lines)
            row, kind = _valid(rng, valid, quotes=not near_runaway)
            out.write(row)
            odd[kind] += 1
            valid += 1
    return valid, bad_at, odd


@pytest.mark.timeout(300)
def test_every_valid_row_is_imported_and_every_bad_one_reported(
    fresh_postgres_config, tmp_path: Path, broker_setup
) -> None:
    from pipelines.migrate import upgrade

    config = replace(fresh_postgres_config, metrics=False)
    upgrade(config)
    broker_setup(config)  # the in-process stub broker: the import actor's code runs here, synchronously
    source = tmp_path / "malformed.csv"
    valid, bad_at, odd = write_malformed_csv(source)
    assert valid == VALID and Counter(bad_at.values()) == BAD
    assert all(odd[k] > 0 for k in ("latin1", "long_field", "inner_quote")), odd

    user_id = drills.create_user(config, "malformed@example.com")
    with unit_of_work(config) as session:
        stored = importer.copy_local_file(config, source)
        job = importer.request_import(session, config, session.get(User, user_id), stored, filename=source.name)
        import_id, detected = job.id, job.format
    assert detected == "google"

    from actors.contacts import import_file

    import_file.fn(import_id)

    with unit_of_work(config) as session:
        job = session.get(Import, import_id)
        errors = {line: reason for line, reason in session.execute(select(ImportError_.line, ImportError_.reason))}
        contacts = session.scalar(select(func.count()).select_from(Contact))
        long_title = session.scalar(
            select(func.max(func.length(Contact.fields["title"].as_string()))).select_from(Contact)
        )
    assert job.status == ImportStatus.done
    assert (job.contacts, contacts, job.errors, len(errors)) == (VALID, VALID, 2_000, 2_000)
    assert set(errors) == set(bad_at), "every bad row reported at its own line, and no valid row"
    expected_reason = {
        "binary": "NUL characters",
        "utf16": "NUL characters",
        "overlong": "longer than",
        "runaway_quote": "never ends",
        "too_many_fields": "fields but the header has",
        "no_identity": "no name, email or phone",
    }
    wrong = {line: (bad_at[line], errors[line]) for line in bad_at if expected_reason[bad_at[line]] not in errors[line]}
    assert not wrong, list(wrong.items())[:5]
    assert long_title == config.import_max_field_length  # the over-long field was cut, its row imported
