"""Plain data types passed between the contact import steps.

They are frozen dataclasses so a record can be hashed, compared in tests and shared between threads, and they
carry only JSON-friendly values (strings, tuples, dates) so batches can be stored or sent as they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date
from typing import Any

#: The formats `detect.detect_format` can return and `parse.parse_file` accepts (plus "auto").
FORMATS: tuple[str, ...] = ("linkedin", "google", "outlook", "thunderbird", "vcard", "csv")

#: Longest `RowError.raw` kept: enough to recognise the row, never a whole file.
MAX_RAW_CHARS = 1000

#: Longest physical line the reader keeps (characters); the rest of a longer line is skipped, so memory stays
#: bounded whatever the file holds. Generous because unfolded vCard photos can be long (they are dropped).
MAX_LINE_CHARS = 4 * 1024 * 1024


class OverlongLine(str):
    """A physical line cut at MAX_LINE_CHARS by the reader; parsers turn it into a RowError (or skip it)."""

    __slots__ = ()


class NotAContactFile(ValueError):
    """The file as a whole is not something we can import (binary, JSON, empty, CSV without contact columns...).

    `reason` is a sentence meant for the user: what we found and, where useful, what to upload instead.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedContact:
    """One record as read from the file, before any validation: values are trimmed but otherwise as given."""

    line: int
    external_key: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    company: str | None = None
    title: str | None = None
    department: str | None = None
    location: str | None = None
    profile_urls: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    birthday: str | None = None
    connected_on: date | None = None
    notes: str | None = None

    def has_identity(self) -> bool:
        """True when the record has at least a name, an email or a phone (else it is not a contact)."""
        names = (self.display_name, self.given_name, self.middle_name, self.family_name, self.nickname)
        return any(names) or bool(self.emails) or bool(self.phones)


@dataclass(frozen=True)
class RowError:
    """A record that could not be imported: where it starts, why, and (the start of) its text."""

    line: int
    reason: str
    raw: str = ""

    def __post_init__(self) -> None:
        if len(self.raw) > MAX_RAW_CHARS:
            object.__setattr__(self, "raw", self.raw[:MAX_RAW_CHARS])


@dataclass(frozen=True)
class NormalizedContact:
    """A validated contact, ready to be stored and resolved into a person.

    `external_key` is stable within the source (the source's own id, or a hash of the identifying fields), so
    importing the same file twice yields the same keys; `content_hash` changes only when the content does.
    """

    line: int
    external_key: str
    display_name: str
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    company: str | None = None
    title: str | None = None
    department: str | None = None
    location: str | None = None
    notes: str | None = None
    birthday: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    profile_url: str | None = None
    urls: tuple[str, ...] = ()
    connected_on: date | None = None
    dropped: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        """All fields as a JSON-serializable dict (tuples become lists, dates ISO strings), for provenance."""
        out: dict[str, Any] = {}
        for name in _NORMALIZED_FIELDS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, date):
                value = value.isoformat()
            out[name] = value
        return out

    def content_hash(self) -> str:
        """sha256 hex of a canonical JSON of `fields()` without `line`: the same content gives the same hash.

        Computed once with `fields_json` and kept with the record (and pickled with it): an import computes both
        while it prepares a batch, in a helper process when it has one."""
        return self._digest()[1]

    def fields_json(self) -> str:
        """`fields()` as JSON text, as the contact row stores it."""
        return self._digest()[0]

    def _digest(self) -> tuple[str, str]:
        cached = self.__dict__.get("_digest_cache")
        if cached is None:
            data = self.fields()
            stored = json.dumps(data)
            del data["line"]
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            cached = (stored, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
            object.__setattr__(self, "_digest_cache", cached)
        return cached


#: NormalizedContact's field names in declaration order (`fields()` runs for every imported contact).
_NORMALIZED_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclass_fields(NormalizedContact))
