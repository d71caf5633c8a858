"""Entry point of the parsing step: `parse_file` streams any supported contact file into records.

Memory does not grow with the file: the file is read through a text stream one line at a time (each line
capped at MAX_LINE_CHARS), CSV records are assembled a few lines at a time and vCards one card at a time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from pipelines.contacts.csv_formats import analyze, parse_csv_lines
from pipelines.contacts.detect import (
    FALLBACK_ERRORS,
    HEAD_BYTES,
    decode_head,
    detect_format,
    refuse_non_text,
    sniff_encoding,
)
from pipelines.contacts.records import FORMATS, MAX_LINE_CHARS, OverlongLine, ParsedContact, RowError
from pipelines.contacts.vcard import parse_vcard_lines


def read_lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's physical lines, decoded, with their line ends (\\n, \\r\\n or \\r).

    A line longer than MAX_LINE_CHARS is yielded cut, as an `OverlongLine`, and the rest of it is skipped.
    """
    errors = FALLBACK_ERRORS if encoding.startswith("utf-8") else "replace"
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="") as stream:
        while line := stream.readline(MAX_LINE_CHARS):
            if len(line) == MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                rest = line
                while rest and len(rest) == MAX_LINE_CHARS and not rest.endswith(("\n", "\r")):
                    rest = stream.readline(MAX_LINE_CHARS)
                yield OverlongLine(line)
                continue
            yield line


def parse_file(path: Path, fmt: str = "auto", *, max_field_length: int = 1000) -> Iterator[ParsedContact | RowError]:
    """Stream the contacts of a file as ParsedContact (readable records) and RowError (the others).

    `fmt` is "auto" (detect from the content) or one of FORMATS to override detection. Detection happens
    when this function is called, so an unsupported file raises NotAContactFile right away; records are then
    produced lazily. Values longer than `max_field_length` characters are truncated.
    """
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"unknown contact format {fmt!r}; expected 'auto' or one of {', '.join(FORMATS)}")
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    encoding = sniff_encoding(head)
    if fmt == "auto":
        detected = detect_format(head, path.name)
    else:
        refuse_non_text(head)
        detected = fmt
    if detected == "vcard":
        return parse_vcard_lines(read_lines(path, encoding), max_field_length=max_field_length)
    head_lines = decode_head(head, encoding, complete=len(head) < HEAD_BYTES)
    layout = analyze(head_lines, fmt=detected, filename=path.name)
    return parse_csv_lines(read_lines(path, encoding), layout, max_field_length=max_field_length)
