"""Relationship strength: a transparent score in [0, 1] from the evidence on an edge.

    strength = 0.30                                   the person is in your contacts at all
             + 0.10 per extra source listing them     (at most +0.20: in your phone AND on LinkedIn AND ...)
             + 0.20 if they also list you             (mutual: both sides keep the other's contact)
             + 0.10 x min(years known, 5) / 5         (LinkedIn "Connected On": long-standing ties)
             + 0.10 if you work at the same company
             + 0.10 x recency of the last import that saw them (1 within a year, falling to 0 at three years)

Every term is shown with the edge (`explain`), so a user can see why one introduction path beats another. The
edge is recomputed whenever its evidence changes (a new source, a re-import, the other side importing you).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pipelines.models import utcnow

BASE = 0.30
PER_EXTRA_SOURCE = 0.10
MAX_EXTRA_SOURCES = 0.20
MUTUAL = 0.20
LONGEVITY = 0.10
LONGEVITY_YEARS = 5.0
SAME_COMPANY = 0.10
RECENCY = 0.10
RECENT_DAYS = 365.0
STALE_DAYS = 3 * 365.0


@dataclass(frozen=True)
class Evidence:
    """What is known about one edge."""

    sources: int
    mutual: bool = False
    connected_on: date | None = None
    same_company: bool = False
    last_seen: datetime | None = None


def explain(evidence: Evidence, today: date | None = None) -> dict[str, float]:
    """Each term of the formula for this edge (they sum to its strength)."""
    today = today or utcnow().date()
    years = (today - evidence.connected_on).days / 365.25 if evidence.connected_on else 0.0
    if evidence.last_seen is None:
        recency = 0.0
    else:
        age = (today - evidence.last_seen.date()).days
        recency = 1.0 if age <= RECENT_DAYS else max(0.0, 1 - (age - RECENT_DAYS) / (STALE_DAYS - RECENT_DAYS))
    return {
        "listed": BASE if evidence.sources > 0 else 0.0,
        "extra_sources": min(MAX_EXTRA_SOURCES, PER_EXTRA_SOURCE * max(0, evidence.sources - 1)),
        "mutual": MUTUAL if evidence.mutual else 0.0,
        "longevity": LONGEVITY * min(max(years, 0.0), LONGEVITY_YEARS) / LONGEVITY_YEARS,
        "same_company": SAME_COMPANY if evidence.same_company else 0.0,
        "recency": RECENCY * recency,
    }


def strength(evidence: Evidence, today: date | None = None) -> float:
    """The edge's strength in [0, 1], rounded to 4 decimals (stable across databases)."""
    return round(min(1.0, max(0.0, sum(explain(evidence, today).values()))), 4)
