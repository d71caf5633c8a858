"""Drill: the contact parsers fuzzed with Hypothesis (docs/reliability.md, drill 5).

Whatever bytes arrive, `detect`, `parse`, the CSV layer and the vCard layer either refuse the whole file with
`NotAContactFile` (a reason for the user) or yield `ParsedContact` and `RowError` records: never another
exception. Inputs are raw bytes and structured noise built from CSV and vCard fragments (headers, quotes,
separators, folding, encodings, NUL bytes), so the generated files get past detection and reach the row parsers.
Bounded: a fixed number of examples per property, no deadline (the machine is shared).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.contacts.csv_formats import analyze, parse_csv_lines
from pipelines.contacts.detect import decode_head, detect_format, sniff_encoding
from pipelines.contacts.parse import parse_file
from pipelines.contacts.records import FORMATS, NotAContactFile, ParsedContact, RowError
from pipelines.contacts.vcard import parse_vcard_lines

#: 150 examples per property in `make test` (derandomized: the same inputs every run); SIXDEG_FUZZ_EXAMPLES=5000
#: for a longer, random exploration.
EXAMPLES = os.environ.get("SIXDEG_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(EXAMPLES or 150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=EXAMPLES is None,
)

CSV_FRAGMENTS = [
    "First Name,Last Name,E-mail 1 - Value,Phone 1 - Value,Organization Name\n",
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n",
    "Name,E-mail Address,Mobile Phone,Birthday\n",
    "Notes:\n",
    "Ada,Lovelace,ada@example.com,+44 20 7946 0000,Analytical\n",
    '"Hopper, Grace",,grace@navy.mil\n',
    '"unclosed,',
    '""',
    '"',
    ",",
    ";",
    "\t",
    "\r\n",
    "\n",
    "\r",
    "\x00",
    "\ufeff",
    "é",
    "ü",
    "李",
    "https://www.linkedin.com/in/someone\n",
    "01 Jan 2020",
    "2020-13-45",
    "+1 (555) 010-0000",
    "not-an-email@",
    "x" * 300,
]
VCARD_FRAGMENTS = [
    "BEGIN:VCARD\r\n",
    "END:VCARD\r\n",
    "VERSION:3.0\r\n",
    "VERSION:2.1\r\n",
    "FN:Ada Lovelace\r\n",
    "N:Lovelace;Ada;;;\r\n",
    "N:;;;;\r\n",
    "EMAIL;TYPE=INTERNET:ada@example.com\r\n",
    "TEL;TYPE=CELL:+44 20 7946 0000\r\n",
    "ORG:Analytical Engines;Research\r\n",
    "TITLE:Countess\r\n",
    "BDAY:1815-12-10\r\n",
    "NOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9=\r\n",
    "=3D=ZZ\r\n",
    "PHOTO;ENCODING=b:AAAA\r\n",
    " folded continuation\r\n",
    "\tfolded tab\r\n",
    'X-UNKNOWN;PARAM="quoted;value":x\r\n',
    "item1.EMAIL:grace@navy.mil\r\n",
    "URL:https://linkedin.com/in/ada\r\n",
    ":\r\n",
    ";;;\r\n",
    "\\n\\,\\;\\\\",
    "\x00",
    "é",
    "\r\n",
]


def structured(fragments: list[str]) -> st.SearchStrategy[bytes]:
    """Files assembled from format fragments and random text, in one of several encodings."""
    pieces = st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=20)), max_size=40)
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252"])
    return st.builds(lambda parts, enc: "".join(parts).encode(enc, errors="replace"), pieces, encodings)


ANY_FILE = st.one_of(st.binary(max_size=2048), structured(CSV_FRAGMENTS), structured(VCARD_FRAGMENTS))
FILENAMES = st.sampled_from(["contacts.csv", "Connections.csv", "export.vcf", "contacts.txt", "", None])


def _check_records(records: object) -> int:
    count = 0
    for record in records:  # type: ignore[attr-defined]
        assert isinstance(record, ParsedContact | RowError), type(record)
        assert record.line >= 1
        count += 1
    return count


@FUZZ
@given(head=ANY_FILE, filename=FILENAMES)
def test_detection_classifies_or_refuses(head: bytes, filename: str | None) -> None:
    encoding = sniff_encoding(head)
    decode_head(head, encoding, complete=True)
    try:
        fmt = detect_format(head, filename)
    except NotAContactFile as exc:
        assert exc.reason
        return
    assert fmt in FORMATS


@FUZZ
@given(data=ANY_FILE, fmt=st.sampled_from(["auto", *FORMATS]), name=st.sampled_from(["f.csv", "f.vcf", "f"]))
def test_parse_file_yields_records_or_refuses(data: bytes, fmt: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        try:
            records = parse_file(path, fmt, max_field_length=50)
        except NotAContactFile:
            return
        _check_records(records)


@FUZZ
@given(text=st.lists(st.one_of(st.sampled_from(CSV_FRAGMENTS), st.text(max_size=30)), max_size=60))
def test_csv_layer_never_raises(text: list[str]) -> None:
    lines = "".join(text).splitlines(keepends=True)
    try:
        layout = analyze(lines[:50], filename="contacts.csv")
    except NotAContactFile:
        return
    _check_records(parse_csv_lines(lines, layout, max_field_length=40))


@FUZZ
@given(text=st.lists(st.one_of(st.sampled_from(VCARD_FRAGMENTS), st.text(max_size=30)), max_size=60))
def test_vcard_layer_never_raises(text: list[str]) -> None:
    lines = "".join(text).splitlines(keepends=True)
    _check_records(parse_vcard_lines(lines, max_field_length=40))
