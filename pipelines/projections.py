"""Keeping the projections (the Neo4j graph, the search index) in step with Postgres.

Writes to the system of record send the ids of the people they touched to `projections.sync_people` through
the outbox. Each configured projection then re-reads those people from Postgres and upserts them, or removes
them when they are gone: idempotent, and safe to run out of order.

Projection adapters register here. The SQL graph reads `connections` directly and needs no projection; the
Neo4j and search projections arrive with the graph and search ports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipelines.config import Config
from pipelines.db import among
from pipelines.models import Person
from pipelines.outbox import send_after_commit

#: Re-projects the given people into every projection (graph, search): upsert if alive, remove if gone.
PROJECTION_SYNC_ACTOR = "projections.sync_people"


class Projection(Protocol):
    name: str

    def sync_people(self, session: Session, person_ids: Sequence[int]) -> None:
        """Make the projection's copy of these people equal Postgres (upsert, or remove if gone)."""


#: Factories that return the projection for a config, or None when that projection is not configured.
PROJECTION_FACTORIES: list[Callable[[Config], Projection | None]] = []


def configured_projections(config: Config) -> list[Projection]:
    return [p for p in (factory(config) for factory in PROJECTION_FACTORIES) if p is not None]


def sync_people(config: Config, session: Session, person_ids: Sequence[int]) -> list[str]:
    """Re-project `person_ids` into every configured projection; returns the names of those updated."""
    updated = []
    for projection in configured_projections(config):
        projection.sync_people(session, person_ids)
        updated.append(projection.name)
    return updated


def notify_people_changed(
    session: Session, person_ids: set[int] | Sequence[int], *, created: set[int] | frozenset[int] = frozenset()
) -> None:
    """Ask (through the outbox, in this transaction) for these people to be re-projected after commit.

    Their versions are raised in the same transaction, so every state a projection can read carries a version
    of its own: a projection reads the version first and the rest after, and engines refuse to replace a
    document by one with a lower version (an older projection never overwrites a newer one). Rows are locked
    in id order so that two writers touching the same people cannot deadlock on them.

    People in `created` were inserted by this transaction: no one has seen them yet, so their first version is
    already new and they are projected without the UPDATE (on an import, one row version and its index entries
    fewer per new person).
    """
    ids = sorted(set(person_ids))
    if not ids:
        return
    existing = [pid for pid in ids if pid not in created]
    for start in range(0, len(existing), 5_000):
        chunk = existing[start : start + 5_000]
        locked = select(Person.id).where(among(session, Person.id, chunk)).order_by(Person.id)
        if session.get_bind().dialect.name == "postgresql":
            locked = locked.with_for_update()
        session.execute(
            update(Person).where(Person.id.in_(locked.scalar_subquery())).values(version=Person.version + 1),
            execution_options={"synchronize_session": "fetch"},
        )
    send_after_commit(session, PROJECTION_SYNC_ACTOR, ids)


def drift(expected: dict[int, int], actual: dict[int, int]) -> tuple[set[int], set[int]]:
    """People a projection lacks or holds at another version, and people it holds that are gone."""
    stale = {pid for pid, version in expected.items() if actual.get(pid) != version}
    extra = set(actual) - set(expected)
    return stale, extra


def consistency_sweep(config: Config, session: Session) -> dict[str, dict[str, int]]:
    """Compare every projection's people (ids and versions) with Postgres and re-project what drifted; returns
    the counts per projection. Edges are re-projected with their people, not compared one by one."""
    expected = dict(session.execute(select(Person.id, Person.version).where(Person.merged_into.is_(None))).all())
    report: dict[str, dict[str, int]] = {}
    for projection in configured_projections(config):
        versions = getattr(projection, "versions", None)
        if versions is None:
            continue
        stale, extra = drift(expected, versions())
        if stale or extra:
            projection.sync_people(session, sorted(stale | extra))
        report[projection.name] = {"checked": len(expected), "stale": len(stale), "extra": len(extra)}
    return report
