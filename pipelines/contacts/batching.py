"""An import's file as batches of records, read and normalized: the part of an import that needs no database.

It imports nothing heavier than the parsers and normalizers, because an import's helper process runs it
(pipelines/contacts/helper.py) and starts by importing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.contacts.normalize import normalize
from pipelines.contacts.parse import parse_file
from pipelines.contacts.records import NormalizedContact, ParsedContact, RowError


@dataclass(frozen=True)
class PreparedBatch:
    """A batch read and normalized, ready to be written: how many records of the file it covers, the contacts
    among them, and the records that cannot be used."""

    records: int
    contacts: list[NormalizedContact]
    errors: list[RowError]


def read_batches(
    path: Path, fmt: str, rows_done: int, batch_size: int, *, max_rows: int, max_field_length: int
) -> Iterator[list[ParsedContact | RowError]]:
    """The file's records in batches, skipping the first `rows_done` (committed before a redelivery).

    Past `max_rows` records the import stops reading and reports one error for the rest of the file.
    """
    batch: list[ParsedContact | RowError] = []
    for position, record in enumerate(parse_file(path, fmt, max_field_length=max_field_length)):
        if position >= max_rows:
            if rows_done <= max_rows:  # not yet reported (a resumed job may have done so already)
                batch.append(
                    RowError(
                        line=record.line,
                        reason=f"The import stopped here: it reached the limit of "
                        f"{max_rows} records per import. Split the file and import the rest.",
                        raw="",
                    )
                )
            break
        if position < rows_done:
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepare_batch(records: list[ParsedContact | RowError], default_region: str | None) -> PreparedBatch:
    """Normalize a batch's records, and compute what writing them needs (content hashes, stored JSON)."""
    contacts: list[NormalizedContact] = []
    errors: list[RowError] = []
    for record in records:
        if isinstance(record, RowError):
            errors.append(record)
            continue
        normalized = normalize(record, default_region)
        if isinstance(normalized, RowError):
            errors.append(normalized)
            continue
        normalized.content_hash()
        normalized.fields_json()
        contacts.append(normalized)
    return PreparedBatch(len(records), contacts, errors)


def prepare_batches(
    path: Path,
    fmt: str,
    default_region: str | None,
    rows_done: int,
    batch_size: int,
    max_rows: int,
    max_field_length: int,
) -> Iterator[PreparedBatch]:
    """`read_batches`, each batch prepared (`prepare_batch`)."""
    for records in read_batches(path, fmt, rows_done, batch_size, max_rows=max_rows, max_field_length=max_field_length):
        yield prepare_batch(records, default_region)
