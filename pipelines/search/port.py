"""The search port: one `people` index behind an alias, three engines that answer the same way.

Documents are keyed by person id and carry the person's version: an engine never lets an older version overwrite
a newer one. Who may see a person is in the document (`owners`: users with a contact of that person, and the
user who is that person; `public`: the person is in a bulk-loaded graph) and every query is filtered by a
`Visibility` (DESIGN.md principle 8).

Ranking is the engine's relevance (BM25 plus how well the words match: exact above prefix above one typo above
two), ties broken by person id; cursors carry (score, id) so pages never repeat or skip a person.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.search.text import fold, terms

MAX_LIMIT = 100


@dataclass(frozen=True)
class PersonDoc:
    """What the index holds of a person: what may be shown to someone allowed to see them, and who is."""

    id: int
    version: int
    name: str
    company: str | None = None
    title: str | None = None
    location: str | None = None
    email_domains: tuple[str, ...] = ()
    owners: tuple[int, ...] = ()
    public: bool = False

    def source(self) -> dict[str, object]:
        """The engine document: shown fields as given, searched fields folded (see `text.fold`)."""
        name_terms = " ".join(terms(self.name))
        return {
            "pid": self.id,
            "name": self.name,
            "name_key": name_terms,
            "company": self.company,
            "title": self.title,
            "location": self.location,
            "name_text": name_terms,
            "company_text": " ".join(terms(self.company or "")),
            "title_text": " ".join(terms(self.title or "")),
            "location_text": " ".join(terms(self.location or "")),
            "company_key": fold(self.company.strip()) if self.company and self.company.strip() else None,
            "domains": list(self.email_domains),
            "owners": list(self.owners),
            "public": self.public,
        }


@dataclass(frozen=True)
class Visibility:
    """Whose people a search may return: people listed by one of `owners`, and public people; `owners=None` is
    the operator's view (everyone)."""

    owners: frozenset[int] | None
    include_public: bool = True


@dataclass(frozen=True)
class SearchRequest:
    visibility: Visibility
    text: str = ""
    company: str | None = None
    title: str | None = None
    location: str | None = None
    #: Only these people (the degree filter, resolved through the graph port); None: no restriction.
    only_ids: frozenset[int] | None = None
    limit: int = 20
    after: tuple[float, int] | None = None
    facets: bool = True


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    name: str
    company: str | None
    title: str | None
    location: str | None


@dataclass
class SearchPage:
    hits: list[Hit]
    total: int
    #: Top companies among all matches: (company, count), most frequent first.
    companies: list[tuple[str, int]] = field(default_factory=list)
    next_after: tuple[float, int] | None = None


class SearchIndex(Protocol):
    """What every search engine adapter provides."""

    name: str

    def ping(self) -> None: ...

    def ensure_index(self) -> None:
        """Create the first generation behind the alias if there is none (idempotent)."""

    def upsert(self, docs: Sequence[PersonDoc]) -> None:
        """Index documents; one whose stored version is higher is left alone."""

    def delete(self, person_ids: Sequence[int]) -> None:
        """Remove documents (absent ones are ignored)."""

    def search(self, request: SearchRequest) -> SearchPage: ...

    def suggest(self, prefix: str, visibility: Visibility, *, limit: int = 8) -> list[Hit]:
        """As-you-type: people whose words start with the typed ones (last word as a prefix)."""

    def get(self, person_id: int) -> dict[str, object] | None:
        """The stored engine document of a person (for checks and the consistency sweep), or None."""

    def versions(self) -> dict[int, int]:
        """Every document's person id and version (for the consistency sweep)."""

    def refresh(self) -> None:
        """Make every write so far visible to searches (tests; engines refresh on their own within a second)."""

    def new_generation(self) -> str:
        """Create an empty index generation (not yet behind the alias); returns its name."""

    def fill(self, generation: str, docs: Sequence[PersonDoc]) -> None:
        """Write documents into a generation being rebuilt."""

    def fill_delete(self, generation: str, person_ids: Sequence[int]) -> None:
        """Remove documents from a generation being rebuilt."""

    def generation_ids(self, generation: str) -> Iterator[int]:
        """Every person id in a generation."""

    def swap(self, generation: str) -> list[str]:
        """Point the alias at `generation` atomically; delete and return the generations it left."""

    def clear(self) -> None:
        """Drop every generation and the alias (tests, `restore`)."""


def encode_cursor(after: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps([after[0], after[1]]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    """Raises ValueError on anything that is not a cursor this module made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        score, person_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return float(score), int(person_id)
    except Exception as exc:
        raise ValueError("invalid cursor") from exc


def query_terms(text: str) -> list[str]:
    from pipelines.search.text import MAX_QUERY_TERMS

    return terms(text)[:MAX_QUERY_TERMS]


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))
