"""Every real export under shared/data/vcards and shared/data/contact-csv goes through parse and normalize.

The files come from other projects' test suites (see their MANIFEST.csv / PROVENANCE.txt); they are read in
place, never copied. Besides "nothing crashes", this checks card and row counts against what is known about
each file, and that Thunderbird's CSV import fixtures map to the cards Thunderbird itself expects.
"""

import csv
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from pipelines.contacts.detect import HEAD_BYTES, detect_format
from pipelines.contacts.normalize import normalize
from pipelines.contacts.parse import parse_file
from pipelines.contacts.records import NormalizedContact, NotAContactFile, ParsedContact, RowError

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
VCARDS = DATA / "vcards"
CSVS = DATA / "contact-csv"

pytestmark = pytest.mark.skipif(
    not (VCARDS.is_dir() and CSVS.is_dir()),
    reason=f"real contact exports not found under {DATA} (shared/data/vcards and shared/data/contact-csv)",
)

#: Documentation and reference files that sit beside the exports: refusing them is the right answer.
NOT_CONTACT_FILES = {
    "vcards/MANIFEST.csv",
    "vcards/PROVENANCE.txt",
    "contact-csv/HEADERS.txt",
    "contact-csv/PROVENANCE.txt",
    "contact-csv/thunderbird/addressbook.expected.json",
}

#: Cards that are broken on purpose in their project's test suite, with the reason we give.
BROKEN_VCARDS = {
    "gnome-evolution-data-server/7.vcf": "a card without its BEGIN:VCARD line cannot be read",
    "gnome-evolution-data-server/8.vcf": "the card has no END:VCARD line (the file may be cut off)",
    "gnome-evolution-data-server/9.vcf": "the card has no END:VCARD line (the file may be cut off)",
    "khard/unparsable.vcf": "the card has no END:VCARD line (the file may be cut off)",
}

#: (format, contacts) for each CSV export, counted by hand from the files.
CSV_EXPECTED = {
    "generic/rolomind__custom.csv": ("csv", 4),
    "generic/rolomind__rolodex.csv": ("csv", 4),
    "google/constellation__google_contacts.csv": ("google", 2),
    "google/rolomind__google.csv": ("google", 4),
    "linkedin/constellation__linkedin_connections.csv": ("linkedin", 2),
    "linkedin/getlux__Connections.csv": ("linkedin", 25),
    "linkedin/labeldekho__Connections.csv": ("linkedin", 10),
    "linkedin/rolomind__linkedin.csv": ("linkedin", 5),
    "linkedin/sanketmuchhala__sample_connections.csv": ("linkedin", 140),
    "outlook/gpcsolutions__outlook.csv": ("outlook", 3),
    "thunderbird/basic_addressbook.csv": ("thunderbird", 1),
    "thunderbird/basic_csv_addressbook.csv": ("thunderbird", 2),
    "thunderbird/csv_no_header.csv": ("csv", 2),
    "thunderbird/quote.csv": ("thunderbird", 1),
}


def _all_files() -> list[Path]:
    return sorted(p for root in (VCARDS, CSVS) if root.is_dir() for p in root.rglob("*") if p.is_file())


def _run(path: Path) -> tuple[str, list[ParsedContact], list[RowError], list[NormalizedContact]]:
    fmt = detect_format(path.read_bytes()[:HEAD_BYTES], path.name)
    records = list(parse_file(path))
    parsed = [r for r in records if isinstance(r, ParsedContact)]
    errors = [r for r in records if isinstance(r, RowError)]
    assert len(parsed) + len(errors) == len(records)
    normalized = []
    for contact in parsed:
        assert contact.has_identity(), contact
        result = normalize(contact, "US")
        assert isinstance(result, NormalizedContact), (path, contact, result)
        assert result.display_name and result.external_key
        normalized.append(result)
    for error in errors:
        assert error.reason and error.line >= 1
    return fmt, parsed, errors, normalized


def test_every_file_parses_and_normalizes():
    summary: dict[str, tuple[str, int, int]] = {}
    refused: set[str] = set()
    reasons: Counter[str] = Counter()
    for path in _all_files():
        name = str(path.relative_to(DATA))
        try:
            fmt, parsed, errors, _ = _run(path)
        except NotAContactFile as exc:
            assert exc.reason
            refused.add(name)
            continue
        summary[name] = (fmt, len(parsed), len(errors))
        reasons.update(e.reason for e in errors)
    for name, (fmt, n, e) in sorted(summary.items()):
        print(f"{name:75} {fmt:12} contacts={n:4} row_errors={e}")
    print("row error reasons:", dict(reasons))
    assert refused == NOT_CONTACT_FILES
    assert sum(n for _, n, _ in summary.values()) >= 315  # 319 when written
    vcf_files = [k for k in summary if k.endswith(".vcf")]
    assert len(vcf_files) == 109
    assert all(summary[k][0] == "vcard" for k in vcf_files)


def test_vcard_counts_match_the_manifest():
    with (VCARDS / "MANIFEST.csv").open(newline="") as f:
        manifest = {row["file"]: int(row["vcards"]) for row in csv.DictReader(f)}
    assert len(manifest) == 109
    for name, cards in manifest.items():
        _, parsed, errors, _ = _run(VCARDS / name)
        if name in BROKEN_VCARDS:
            assert parsed == [], name
            assert [e.reason for e in errors] == [BROKEN_VCARDS[name]], name
        else:
            assert len(parsed) == cards, (name, cards, errors)
            assert errors == [], (name, errors)


@pytest.mark.parametrize(("name", "expected"), sorted(CSV_EXPECTED.items()))
def test_csv_counts(name, expected):
    fmt, parsed, errors, _ = _run(CSVS / name)
    assert (fmt, len(parsed), errors) == (*expected, [])


def test_known_vcards_field_by_field():
    (frank, tim) = _run(VCARDS / "ez-vcard/rfc2426-example.vcf")[3]
    assert (frank.display_name, frank.company) == ("Frank Dawson", "Lotus Development Corporation")
    assert frank.emails == ("frank_dawson@lotus.com", "fdawson@earthlink.net")
    assert frank.phones == ("+19196769515",)  # the fax number is not kept
    assert frank.location == "Raleigh, NC, U.S.A."
    assert frank.urls == ("http://home.earthlink.net/~fdawson",)
    assert tim.emails == ("howes@netscape.com",)

    (utf16,) = _run(VCARDS / "roundcube/utf-16_sample.vcf")[1]  # UTF-16BE without BOM
    assert (utf16.given_name, utf16.family_name) == ("Ǽgean", "ĽdaMonté")

    (johndoe,) = _run(VCARDS / "roundcube/johndoe.vcf")[1]  # vCard 2.1 with raw windows-1252 bytes
    assert johndoe.display_name == "John Doë"

    (evolution_qp,) = _run(VCARDS / "gnome-evolution-data-server/5.vcf")[1]  # 2.1 quoted-printable UTF-8
    assert evolution_qp.display_name == "十城目管理大型知座"
    assert evolution_qp.external_key == "pas-id-3E52FE2E00000000"

    (iphone,) = _run(VCARDS / "ez-vcard/John_Doe_IPHONE.vcf")[1]  # Apple itemN groups, 46 KB photo
    assert (iphone.given_name, iphone.family_name, iphone.company) == ("John", "Doe", "IBM")
    assert iphone.emails == ("john.doe@ibm.com",)
    assert len(iphone.phones) == 4

    (korean,) = _run(VCARDS / "khard/korean-c.vcf")[1]
    assert korean.display_name


def test_linkedin_rows_field_by_field():
    _, parsed, _, normalized = _run(CSVS / "linkedin/constellation__linkedin_connections.csv")
    assert [p.line for p in parsed] == [4, 5]  # after the two-line "Notes:" preamble and the header
    jerry, alex = normalized
    assert jerry.external_key == "https://www.linkedin.com/in/jerry-mathis"  # ?trk= and trailing slash gone
    assert jerry.profile_url == jerry.external_key
    assert jerry.display_name == "Jerry Mathis"
    assert str(jerry.connected_on) == "2026-07-01"
    assert alex.profile_url == "https://www.linkedin.com/in/alex-johnson"  # written without a scheme
    assert alex.emails == ()

    _, parsed, _, _ = _run(CSVS / "linkedin/sanketmuchhala__sample_connections.csv")
    assert parsed[0].line == 5
    assert parsed[-1].line == 144
    assert parsed[0].title == "Founder & CEO - I Am Iron Man"


# --- Thunderbird's own expectations for its CSV import fixtures ---------------------------------------------

_TB_FIELDS = {
    "DisplayName": "display_name",
    "FirstName": "given_name",
    "LastName": "family_name",
    "NickName": "nickname",
}


def _expected_from_thunderbird(card: dict) -> dict:
    """Our field values for one of Thunderbird's expected address-book cards (addressbook.json)."""
    out: dict = {ours: card[theirs] for theirs, ours in _TB_FIELDS.items() if theirs in card}
    emails = [card[k] for k in ("PrimaryEmail", "SecondEmail") if card.get(k)]
    phones: list[str] = []
    for line in card.get("_vCard", []):
        name, _, value = line.partition(":")
        prop = name.split(";")[0]
        if prop == "ORG":
            company, _, department = value.partition(";")
            out["company"] = company or None
            out["department"] = department or None
        elif prop == "TEL" and "fax" not in name and "pager" not in name:
            phones.append(value)
        elif prop == "EMAIL" and value not in emails:
            emails.append(value)
        elif prop == "TITLE":
            out["title"] = value
        elif prop == "NOTE":
            out["notes"] = value.replace("\\n", "\n")
    out["emails"] = tuple(emails)
    if phones or "_vCard" in card:
        out["phones"] = tuple(phones)
    return out


@pytest.mark.parametrize(
    ("fixture", "key"),
    [
        ("basic_csv_addressbook.csv", "csv_import"),
        ("csv_no_header.csv", "csv_import"),  # Thunderbird's test maps these columns by hand; we infer them
        ("quote.csv", "quote_csv"),
        # "basic_addressbook" belongs to a newer basic_addressbook.csv than the one staged (PROVENANCE.txt).
    ],
)
def test_thunderbird_fixtures_match_thunderbird_expectations(fixture, key):
    expected_cards = json.loads((CSVS / "thunderbird/addressbook.expected.json").read_text())[key]
    _, parsed, errors, _ = _run(CSVS / "thunderbird" / fixture)
    assert errors == []
    assert len(parsed) == len(expected_cards)
    for contact, card in zip(parsed, expected_cards, strict=True):
        expected = _expected_from_thunderbird(card)
        actual = {field: getattr(contact, field) for field in expected}
        assert actual == expected, (fixture, contact.line)


def test_damaged_copies_of_real_files_never_crash(tmp_path):
    """Cut, spliced and byte-flipped copies of the real files: each record is a contact or a RowError."""
    rng = random.Random(20260701)
    sources = [p.read_bytes() for p in _all_files() if p.suffix in (".vcf", ".csv")]
    for i in range(300):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(data) + 1)
            roll = rng.random()
            if roll < 0.3:
                del data[pos : pos + rng.randint(1, 40)]
            elif roll < 0.7:
                data[pos:pos] = bytes(rng.choice(b'",;:\r\n\\=\xff\xc3AB\t ') for _ in range(rng.randint(1, 4)))
            else:
                other = rng.choice(sources)
                start = rng.randrange(len(other) + 1)
                data[pos:pos] = other[start : start + rng.randint(1, 150)]
        path = tmp_path / f"damaged{i}{rng.choice(['.csv', '.vcf'])}"
        path.write_bytes(bytes(data))
        try:
            records = list(parse_file(path))
        except NotAContactFile:
            continue
        for record in records:
            assert isinstance(record, ParsedContact | RowError)
            if isinstance(record, ParsedContact):
                assert isinstance(normalize(record, "US"), NormalizedContact | RowError)
