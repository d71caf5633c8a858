"""Choosing the search engine from configuration, projecting Postgres into it, and rebuilding it.

The search index is a projection (DESIGN.md principle 1): `SearchProjection` re-reads the people the outbox names
and upserts their documents (version-checked) or deletes them; `rebuild` builds a new generation from Postgres in
batches while the old one keeps answering, then swaps the alias.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.db import unit_of_work
from pipelines.models import Person
from pipelines.projections import PROJECTION_FACTORIES
from pipelines.search.documents import all_documents, documents_for
from pipelines.search.port import SearchIndex

_indexes: dict[str, SearchIndex] = {}
_lock = threading.Lock()


def search_index(config: Config) -> SearchIndex:
    """The process's search index for `config` (one client per process; clients pool connections)."""
    key = f"{config.search_url}|{config.search_index}|{config.data_dir}"
    with _lock:
        index = _indexes.get(key)
        if index is None:
            if config.search_kind == "sqlite":
                from pipelines.search.sqlite import SqliteSearch

                index = SqliteSearch(config.data_dir / f"{config.search_index}.search.db")
            else:
                from pipelines.search.engines import EngineSearch

                index = EngineSearch(
                    config.search_kind,
                    config.search_http_url,
                    alias=config.search_index,
                    timeout=config.backend_timeout,
                )
            index.ensure_index()
            _indexes[key] = index
        return index


def close_indexes() -> None:
    with _lock:
        for index in _indexes.values():
            close = getattr(index, "close", None)
            if close:
                close()
        _indexes.clear()


class SearchProjection:
    """Keeps the search index equal to Postgres for the people it is told about."""

    name = "search"

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def versions(self) -> dict[int, int]:
        return self.index.versions()

    def sync_people(self, session: Session, person_ids: Sequence[int]) -> None:
        docs, gone = documents_for(session, person_ids)
        if gone:
            self.index.delete(gone)
        if docs:
            self.index.upsert(docs)


PROJECTION_FACTORIES.append(lambda config: SearchProjection(search_index(config)))


def rebuild(config: Config, *, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Build a new generation from Postgres in batches while searches keep using the old one, remove documents
    of people deleted meanwhile, then swap the alias. Returns the counts."""
    index = search_index(config)
    generation = index.new_generation()
    written = 0
    with unit_of_work(config) as session:
        total = session.query(Person).filter(Person.merged_into.is_(None)).count()
        for docs in all_documents(session):
            index.fill(generation, docs)
            written += len(docs)
            if progress:
                progress(written, total)
    # Writes during the fill went to both generations; a person deleted after the fill read them must go.
    with unit_of_work(config) as session:
        alive = set(session.scalars(select(Person.id).where(Person.merged_into.is_(None))))
    stale = [pid for pid in index.generation_ids(generation) if pid not in alive]
    if stale:
        index.fill_delete(generation, stale)
    old = index.swap(generation)
    return {"people": written, "removed": len(stale), "old_generations": len(old)}
