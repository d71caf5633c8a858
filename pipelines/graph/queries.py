"""The network questions users ask, on whichever graph store is configured.

Who may be traversed is decided here (DESIGN.md principle 8): a user's own edges, the edges of users whose
sharing is `network`, and unowned (bulk-loaded) edges. What is shown of other people is only their name, company
and title; the evidence of an edge is shown in full only to its owner (others see how many sources and whether it
is mutual, never which sources).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.db import among
from pipelines.graph.port import EVERYTHING, Access, GraphStore, Path
from pipelines.models import Identity, IdentityKind, Person, Sharing, User

MAX_COMPANY_PEOPLE = 5_000


def access_for(session: Session, user: User | None) -> Access:
    """The edges `user` may traverse (None: the operator's view, every edge)."""
    if user is None:
        return EVERYTHING
    sharing = session.scalars(select(User.id).where(User.sharing == Sharing.network)).all()
    return Access(owners=frozenset({user.id, *sharing}), include_unowned=True)


def resolve_person(session: Session, ref: str) -> int | None:
    """A person id from a reference: an id, an email, or `key:<node>` (load-graph); merged people resolve to
    their survivor. None when nobody matches."""
    ref = ref.strip()
    person_id: int | None = None
    if ref.isdigit():
        person_id = int(ref) if int(ref) < 2**63 else None
    elif ref.startswith("key:"):
        person_id = session.scalar(
            select(Identity.person_id).where(Identity.kind == IdentityKind.key, Identity.value == ref)
        )
    elif "@" in ref:
        person_id = session.scalar(
            select(Identity.person_id).where(Identity.kind == IdentityKind.email, Identity.value == ref.lower())
        )
    seen: set[int] = set()
    while person_id is not None and person_id not in seen:
        seen.add(person_id)
        row = session.execute(select(Person.id, Person.merged_into).where(Person.id == person_id)).first()
        if row is None:
            return None
        if row.merged_into is None:
            return row.id
        person_id = row.merged_into
    return None


def people_cards(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What may be shown of these people to anyone: name, company, title."""
    if not ids:
        return {}
    rows = session.execute(
        select(Person.id, Person.display_name, Person.company, Person.title).where(among(session, Person.id, list(ids)))
    )
    return {r.id: {"id": r.id, "name": r.display_name, "company": r.company, "title": r.title} for r in rows}


def render_paths(
    session: Session, paths: Sequence[Path], viewer: User | None, *, cards: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Paths as JSON-ready data: the people on them and every hop with its evidence (privacy-filtered). `cards`:
    the people's cards when the caller already has them (one query for everyone it shows)."""
    if cards is None:
        cards = people_cards(session, sorted({p for path in paths for p in path.people}))
    rendered = []
    for path in paths:
        hops = []
        for hop in path.hops:
            mine = viewer is None or hop.owner_user_id == viewer.id
            evidence = (
                dict(hop.evidence)
                if mine
                else {
                    "sources": len(hop.evidence.get("sources", []))
                    if isinstance(hop.evidence.get("sources"), list)
                    else hop.evidence.get("sources"),
                    "mutual": bool(hop.evidence.get("mutual")),
                }
            )
            hops.append(
                {
                    "from": hop.from_id,
                    "to": hop.to_id,
                    "strength": round(hop.strength, 4),
                    "since": hop.since.isoformat() if hop.since else None,
                    "owner": "you"
                    if viewer is not None and hop.owner_user_id == viewer.id
                    else ("public" if hop.owner_user_id is None else "shared"),
                    "evidence": evidence,
                }
            )
        rendered.append(
            {
                "hops": path.hop_count,
                "strength": round(path.strength, 6),
                "people": [cards.get(p, {"id": p, "name": None, "company": None, "title": None}) for p in path.people],
                "steps": hops,
            }
        )
    return rendered


def paths_between(
    session: Session, store: GraphStore, source: int, target: int, viewer: User | None, *, max_hops: int, limit: int
) -> list[dict[str, Any]]:
    paths = store.shortest_paths(source, target, access_for(session, viewer), max_hops=max_hops, limit=limit)
    return render_paths(session, paths, viewer)


def paths_answer(
    session: Session, store: GraphStore, source: int, target: int, viewer: User | None, *, max_hops: int, limit: int
) -> dict[str, Any] | None:
    """`GET /v1/paths`: the source's and the target's cards and the rendered paths, the cards of everyone in one
    query. None when the source or the target is not a live person."""
    paths = store.shortest_paths(source, target, access_for(session, viewer), max_hops=max_hops, limit=limit)
    cards = people_cards(session, sorted({source, target, *(p for path in paths for p in path.people)}))
    if source not in cards or target not in cards:
        return None
    return {
        "source": cards[source],
        "target": cards[target],
        "paths": render_paths(session, paths, viewer, cards=cards),
    }


def people_at_company(session: Session, company: str) -> list[int]:
    """Live people whose company matches (case-insensitive, substring), at most MAX_COMPANY_PEOPLE."""
    pattern = f"%{company.strip().lower()}%"
    return list(
        session.scalars(
            select(Person.id)
            .where(func.lower(Person.company).like(pattern), Person.merged_into.is_(None))
            .order_by(Person.id)
            .limit(MAX_COMPANY_PEOPLE)
        )
    )
