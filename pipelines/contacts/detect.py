"""Format and encoding detection from the first bytes of an upload.

`detect_format` looks only at the head of the file (HEAD_BYTES), so an upload can be classified, and refused
with a clear reason, before it is read. Text is decoded as UTF-8 (with or without BOM) or UTF-16 (BOM, or
recognised by its NUL bytes); bytes that are not valid UTF-8 are read as CP1252/Latin-1 one by one, so a file
mixing both still reads.
"""

from __future__ import annotations

import codecs
import re

from pipelines.contacts.csv_formats import analyze
from pipelines.contacts.records import NotAContactFile

HEAD_BYTES = 64 * 1024

#: Name of the codecs error handler that decodes invalid UTF-8 bytes as CP1252 (Latin-1 for its 5 holes).
FALLBACK_ERRORS = "sixdeg-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """codecs error handler: decode the offending bytes as CP1252 instead of failing."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    text = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in bad)
    return text, exc.end


codecs.register_error(FALLBACK_ERRORS, _cp1252_fallback)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (
        b"PK\x03\x04",
        "this is a ZIP archive (an Excel .xlsx workbook or a zipped export); save the sheet as CSV, or unzip a "
        "LinkedIn data export and upload its Connections.csv",
    ),
    (b"\xd0\xcf\x11\xe0", "this is an old Microsoft Office file (.xls/.doc/.msg); save it as CSV or vCard first"),
    (b"%PDF", "this is a PDF document, not a contact export; export the contacts as CSV or vCard"),
    (b"\x89PNG", "this is an image (PNG), not a contact export"),
    (b"\xff\xd8\xff", "this is an image (JPEG), not a contact export"),
    (b"GIF8", "this is an image (GIF), not a contact export"),
    (b"\x1f\x8b", "this is a gzip-compressed file; decompress it and upload the CSV or vCard inside"),
    (b"SQLite format 3", "this is an SQLite database, not a contact export; export the contacts as CSV or vCard"),
    (b"7z\xbc\xaf", "this is a 7-Zip archive; extract it and upload the CSV or vCard inside"),
    (b"Rar!", "this is a RAR archive; extract it and upload the CSV or vCard inside"),
)
_VCARD_LINE = re.compile(r"^\s*(BEGIN|END)\s*:\s*VCARD\s*$", re.IGNORECASE | re.MULTILINE)


def sniff_encoding(head: bytes) -> str:
    """Codec name for a file starting with `head`: utf-8-sig, utf-16 (BOM), utf-16-le/-be (no BOM), or utf-8.

    UTF-16 without a BOM is recognised by its NUL bytes: mostly-ASCII text has a NUL in every other byte, at
    even offsets for big-endian and odd offsets for little-endian.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[: 4096 - 4096 % 2]
    if len(sample) >= 2:
        even = sample[0::2].count(0)
        odd = sample[1::2].count(0)
        half = len(sample) // 2
        if odd >= 0.3 * half and even <= 0.05 * half:
            return "utf-16-le"
        if even >= 0.3 * half and odd <= 0.05 * half:
            return "utf-16-be"
    return "utf-8"


def decode_head(head: bytes, encoding: str, complete: bool) -> list[str]:
    """The head decoded into lines (ends kept); without `complete` the last, possibly cut, line is dropped."""
    errors = FALLBACK_ERRORS if encoding.startswith("utf-8") else "replace"
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    text = decoder.decode(head, final=complete)
    lines = text.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    return lines


def refuse_non_text(head: bytes) -> None:
    """Raise NotAContactFile for empty, binary, JSON, HTML/XML, LDIF and calendar files (checked on the head)."""
    head = head[:HEAD_BYTES]
    encoding = sniff_encoding(head)
    text = "".join(decode_head(head, encoding, complete=len(head) < HEAD_BYTES))
    if not head.strip() or not text.strip():
        raise NotAContactFile("the file is empty")
    for magic, reason in _MAGIC:
        if head.startswith(magic):
            raise NotAContactFile(reason)
    if not encoding.startswith("utf-16"):
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f\v")
        if "\x00" in text or controls > max(8, len(text[:8192]) // 100):
            raise NotAContactFile("this is a binary file, not a contact export; upload a CSV or vCard (.vcf) file")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        raise NotAContactFile("this looks like JSON, which is not a contact export format; upload CSV or vCard")
    if stripped[:1] == "<":
        raise NotAContactFile(
            "this looks like HTML or XML (a web page saved instead of the export?); upload the CSV or vCard file"
        )
    first_line = stripped.split("\n", 1)[0].strip().lower()
    if first_line.startswith(("dn:", "version: 1")):
        raise NotAContactFile("LDIF address books are not supported; export the contacts as vCard or CSV")
    if first_line.startswith("begin:vcalendar"):
        raise NotAContactFile("this is a calendar (iCalendar) file, not contacts; export the contacts as vCard")


def detect_format(head: bytes, filename: str | None) -> str:
    """One of linkedin, google, outlook, thunderbird, vcard, csv for a file starting with `head`.

    Looks at up to HEAD_BYTES. Raises NotAContactFile (with a reason for the user) for files that are not
    contact files: empty, binary, archives, JSON, HTML, LDIF, calendars, or CSV without any column for a name,
    an email or a phone.
    """
    head = head[:HEAD_BYTES]
    encoding = sniff_encoding(head)
    complete = len(head) < HEAD_BYTES
    refuse_non_text(head)
    lines = decode_head(head, encoding, complete)
    if _VCARD_LINE.search("".join(lines[:200])):
        return "vcard"
    if (filename or "").lower().endswith((".vcf", ".vcard")):
        raise NotAContactFile("this .vcf file has no BEGIN:VCARD line, so it is not a vCard file")
    return analyze(lines, filename=filename).fmt
