"""parse_file: encodings, format override, refusals, streaming and limits."""

import codecs
import tracemalloc
from pathlib import Path

import pytest

from pipelines.contacts import parse as parse_module
from pipelines.contacts.parse import parse_file, read_lines
from pipelines.contacts.records import NotAContactFile, OverlongLine, ParsedContact, RowError

CSV = "Name,Email,Company\nZoë Ñandú,zoe@example.com,Café “Crème”\nJörg,joerg@example.com,Straße\n"
VCF = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Ñandú\r\nEMAIL:zoe@example.com\r\nEND:VCARD\r\n"


def names(records: list) -> list[str | None]:
    return [r.display_name for r in records if isinstance(r, ParsedContact)]


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: codecs.BOM_UTF8 + s.encode("utf-8"),
        lambda s: codecs.BOM_UTF16_LE + s.encode("utf-16-le"),
        lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"),
        lambda s: s.encode("utf-16-le"),  # no BOM: recognised by the NUL bytes
        lambda s: s.encode("utf-16-be"),
        lambda s: s.encode("cp1252"),  # not UTF-8: falls back to CP1252
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "cp1252"],
)
def test_encodings(tmp_path, encode):
    (tmp_path / "c.csv").write_bytes(encode(CSV))
    (tmp_path / "c.vcf").write_bytes(encode(VCF))
    csv_records = list(parse_file(tmp_path / "c.csv"))
    assert names(csv_records) == ["Zoë Ñandú", "Jörg"]
    assert csv_records[0].company == "Café “Crème”"
    assert [r.line for r in csv_records] == [2, 3]
    assert names(list(parse_file(tmp_path / "c.vcf"))) == ["Zoë Ñandú"]


def test_mixed_utf8_and_cp1252_lines(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Name,Email\n" + "Zoë,z@example.com\n".encode() + "Jörg,j@example.com\n".encode("cp1252"))
    assert names(list(parse_file(path))) == ["Zoë", "Jörg"]


def test_format_override(tmp_path):
    path = tmp_path / "narrow.csv"
    path.write_text("Ada,Lovelace,Ada L,,ada@example.com\n")
    (auto,) = parse_file(path)
    (forced,) = parse_file(path, "thunderbird")
    assert isinstance(auto, ParsedContact) and isinstance(forced, ParsedContact)
    assert forced.given_name == "Ada" and forced.display_name == "Ada L"
    assert auto.given_name is None  # read by looking at the values instead
    vcf = tmp_path / "cards.txt"
    vcf.write_text(VCF)
    assert names(list(parse_file(vcf, "vcard"))) == ["Zoë Ñandú"]


def test_unknown_format_is_a_value_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    with pytest.raises(ValueError, match="unknown contact format 'excel'"):
        parse_file(path, "excel")


def test_refusal_happens_when_called_not_when_iterated(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('[{"name": "Ada"}]')
    with pytest.raises(NotAContactFile, match="JSON"):
        parse_file(path)
    with pytest.raises(NotAContactFile, match="JSON"):
        parse_file(path, "csv")  # an override does not make JSON readable
    empty = tmp_path / "empty.vcf"
    empty.write_bytes(b"")
    with pytest.raises(NotAContactFile, match="empty"):
        parse_file(empty, "vcard")


def test_overlong_lines_are_cut_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_module, "MAX_LINE_CHARS", 100)
    path = tmp_path / "long.csv"
    path.write_text("Name,Email\nAda,ada@example.com\n" + "x" * 450 + "\nBob,bob@example.com\n")
    lines = list(read_lines(path, "utf-8"))
    assert [type(line).__name__ for line in lines] == ["str", "str", "OverlongLine", "str"]
    assert len(lines[2]) == 100 and isinstance(lines[2], OverlongLine)
    records = list(parse_file(path))
    assert names(records) == ["Ada", "Bob"]
    (error,) = [r for r in records if isinstance(r, RowError)]
    assert error.line == 3
    assert "longer than" in error.reason


def _peak_memory(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in parse_file(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_is_streamed(tmp_path):
    path = tmp_path / "Connections.csv"
    note = "n" * 900
    with path.open("w") as f:
        f.write("First Name,Last Name,URL,Email Address,Company,Position,Connected On,Notes\n")
        for i in range(3000):
            f.write(f'P{i},"L, {i}",https://www.linkedin.com/in/p-{i},p{i}@example.com,Acme,Eng,01 Jul 2024,{note}\n')
    size = path.stat().st_size
    count, peak = _peak_memory(path)
    assert count == 3000
    assert size > 2_900_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file: parsing is not streaming"


def test_vcard_is_streamed(tmp_path):
    path = tmp_path / "big.vcf"
    photo = "".join(f" {'A' * 74}\r\n" for _ in range(400))
    with path.open("w", newline="") as f:
        for i in range(300):
            f.write(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\n{photo}")
            f.write(f"EMAIL:p{i}@example.com\r\nEND:VCARD\r\n")
    size = path.stat().st_size
    count, peak = _peak_memory(path)
    assert count == 300
    assert size > 9_000_000
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte file: parsing is not streaming"
