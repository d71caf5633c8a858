"""Search as users see it: only people they may see, with how they are connected and what matched.

Who a user may see is the same rule the graph uses for traversal (DESIGN.md principle 8): people in their own
contacts, people in the contacts of users who share their network, people of the bulk-loaded public graph, and
themselves. Degrees (1, 2, 3 hops) come from the graph port with the same access, cached per user for
`DEGREE_CACHE_SECONDS` so that typing does not walk the graph on every key.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import TTLCache
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from pipelines import outbox
from pipelines.config import Config
from pipelines.contacts.merge import open_suggestions
from pipelines.graph.port import Access, GraphStore
from pipelines.graph.queries import access_for, people_cards
from pipelines.models import Connection, Contact, Merge, Sharing, Source, User
from pipelines.search.documents import documents_for
from pipelines.search.port import (
    MAX_LIMIT,
    Hit,
    PersonDoc,
    SearchIndex,
    SearchRequest,
    Visibility,
    decode_cursor,
    encode_cursor,
)
from pipelines.search.text import highlight

DEGREE_CACHE_SECONDS = 30.0
MAX_DEGREE = 3
_degree_cache: TTLCache[tuple[str, int, Access, int], dict[int, int]] = TTLCache(maxsize=256, ttl=DEGREE_CACHE_SECONDS)
_degree_lock = threading.Lock()


def visibility_for(session: Session, user: User | None) -> Visibility:
    """Whose people `user` may find (None: the operator, who may find everyone)."""
    if user is None:
        return Visibility(owners=None)
    sharing = session.scalars(select(User.id).where(User.sharing == Sharing.network)).all()
    return Visibility(owners=frozenset({user.id, *sharing}), include_public=True)


def may_see(doc: PersonDoc, visibility: Visibility) -> bool:
    if visibility.owners is None:
        return True
    return (visibility.include_public and doc.public) or bool(visibility.owners & set(doc.owners))


def degrees(config: Config, session: Session, store: GraphStore, user: User | None) -> dict[int, int]:
    """Hop counts (0 to 3) from the user's person to everyone within three hops; {} for the operator."""
    if user is None:
        return {}
    access = access_for(session, user)
    key = _degree_key(config, session, user, access)
    with _degree_lock:
        cached = _degree_cache.get(key)
    if cached is not None:
        return cached
    distances = store.hop_distances(user.person_id, access, max_hops=MAX_DEGREE)
    with _degree_lock:
        _degree_cache[key] = distances
    return distances


def degree_of(config: Config, session: Session, store: GraphStore, user: User, person_id: int) -> int | None:
    """One person's degree: from the cached map when there is one, else one bounded path search (cheaper than
    mapping the user's whole 3-hop network, which for a very large network takes seconds)."""
    if person_id == user.person_id:
        return 0
    access = access_for(session, user)
    with _degree_lock:
        cached = _degree_cache.get(_degree_key(config, session, user, access))
    if cached is not None:
        return cached.get(person_id)
    if _knows_directly(session, access, user.person_id, person_id):  # the common case: one of your contacts
        return 1
    # From the person towards the user: the search starts on the side that is usually far smaller.
    paths = store.shortest_paths(person_id, user.person_id, access, max_hops=MAX_DEGREE, limit=1)
    return paths[0].hop_count if paths else None


def _degree_key(config: Config, session: Session, user: User, access: Access) -> tuple[str, int, Access, int]:
    """Cached degrees hold until anyone's network changes (any process: the outbox id grows with every change)
    or whose edges the user may use changes (sharing), and at most DEGREE_CACHE_SECONDS."""
    return (f"{config.graph_url}|{config.database_url}", user.id, access, outbox.latest_id(session))


def _knows_directly(session: Session, access: Access, a: int, b: int) -> bool:
    """Whether a permitted edge joins a and b (either direction), straight from the system of record."""
    between = or_(
        and_(Connection.from_person_id == a, Connection.to_person_id == b),
        and_(Connection.from_person_id == b, Connection.to_person_id == a),
    )
    query = select(Connection.id).where(between)
    if access.owners is not None:
        allowed = Connection.owner_user_id.in_(sorted(access.owners))
        if access.include_unowned:
            allowed = or_(allowed, Connection.owner_user_id.is_(None))
        query = query.where(allowed)
    return session.scalar(query.limit(1)) is not None


def forget_degrees() -> None:
    """Drop cached degrees (tests, and after a user's network changed in this process)."""
    with _degree_lock:
        _degree_cache.clear()


def _render(hit: Hit, query: str, hops: dict[int, int], *, prefix: bool = True) -> dict[str, Any]:
    matched = {
        field: spans
        for field, value in (
            ("name", hit.name),
            ("company", hit.company),
            ("title", hit.title),
            ("location", hit.location),
        )
        if (spans := highlight(value, query, prefix=prefix))
    }
    return {
        "id": hit.id,
        "name": hit.name,
        "company": hit.company,
        "title": hit.title,
        "location": hit.location,
        "degree": hops.get(hit.id),
        "highlight": {field: [list(span) for span in spans] for field, spans in matched.items()},
    }


def search_people(
    config: Config,
    session: Session,
    index: SearchIndex,
    store: GraphStore,
    user: User | None,
    *,
    q: str = "",
    company: str | None = None,
    title: str | None = None,
    location: str | None = None,
    degree: set[int] | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One page of people matching the query and filters, best first; raises ValueError for a bad cursor."""
    hops = degrees(config, session, store, user)
    only_ids = frozenset(pid for pid, d in hops.items() if d in degree) if degree else None
    page = index.search(
        SearchRequest(
            visibility=visibility_for(session, user),
            text=q,
            company=company,
            title=title,
            location=location,
            only_ids=only_ids,
            limit=max(1, min(limit, MAX_LIMIT)),
            after=decode_cursor(cursor) if cursor else None,
        )
    )
    return {
        "items": [_render(hit, q, hops) for hit in page.hits],
        "total": page.total,
        "facets": {"companies": [{"company": c, "count": n} for c, n in page.companies]},
        "next_cursor": encode_cursor(page.next_after) if page.next_after else None,
    }


def suggest_people(
    config: Config, session: Session, index: SearchIndex, store: GraphStore, user: User | None, q: str, limit: int = 8
) -> list[dict[str, Any]]:
    hits = index.suggest(q, visibility_for(session, user), limit=max(1, min(limit, 20)))
    hops = degrees(config, session, store, user)
    return [_render(hit, q, hops) for hit in hits]


def person_detail(
    config: Config, session: Session, store: GraphStore, user: User | None, person_id: int
) -> dict[str, Any] | None:
    """What `user` may see of one person, with their degree and the user's own contact records of them; None
    when the person does not exist or is not visible to the user (the same answer, so ids cannot be probed)."""
    docs, _gone = documents_for(session, [person_id])
    if not docs or not may_see(docs[0], visibility_for(session, user)):
        return None
    doc = docs[0]
    detail: dict[str, Any] = {
        "id": doc.id,
        "name": doc.name,
        "company": doc.company,
        "title": doc.title,
        "location": doc.location,
        "degree": degree_of(config, session, store, user, doc.id) if user else None,
        "is_you": user is not None and user.person_id == doc.id,
        "contacts": [],
    }
    if user is not None:
        rows = session.execute(
            select(Contact.id, Contact.fields, Contact.updated_at, Source.id, Source.kind, Source.name)
            .join(Source, Source.id == Contact.source_id)
            .where(Contact.user_id == user.id, Contact.person_id == doc.id)
            .order_by(Contact.id)
        )
        detail["contacts"] = [
            {
                "id": contact_id,
                "source": {"id": source_id, "kind": str(kind), "name": name},
                "fields": fields,
                "updated_at": updated.isoformat(),
            }
            for contact_id, fields, updated, source_id, kind, name in rows
        ]
        detail.update(_merge_overview(session, user, doc.id))
    return detail


def _merge_overview(session: Session, user: User, person_id: int) -> dict[str, Any]:
    """The user's merges into this person (undoable) and open suggestions that this person is someone else."""
    merges = session.scalars(
        select(Merge)
        .where(Merge.user_id == user.id, Merge.survivor_id == person_id, Merge.undone_at.is_(None))
        .order_by(Merge.id.desc())
    ).all()
    suggestions = open_suggestions(session, user.id, person_id)
    others = people_cards(
        session,
        [s.person_b_id if s.person_a_id == person_id else s.person_a_id for s in suggestions]
        + [m.merged_id for m in merges],
    )
    return {
        "merges": [
            {
                "id": m.id,
                "survivor_id": m.survivor_id,
                "merged_id": m.merged_id,
                "reason": m.reason,
                "created_at": m.created_at.isoformat(),
                "undone_at": None,
                "merged": others.get(m.merged_id),
            }
            for m in merges
        ],
        "merge_suggestions": [
            {"id": s.id, "reason": s.reason, "other": others[other]}
            for s in suggestions
            if (other := s.person_b_id if s.person_a_id == person_id else s.person_a_id) in others
        ],
    }
