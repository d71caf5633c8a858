"""Cursor pagination for every list: `limit` and `cursor` in, `items` and `next` out (plus a Link header).

The cursor is the id of the last row of the previous page (clients should treat it as opaque); lists are ordered
newest first by id, so pages stay stable while rows are added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, jsonify, request
from pydantic import BaseModel, Field
from sqlalchemy import Select

from api.context import db

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(BaseModel):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(None, pattern=r"^[1-9][0-9]{0,17}$", description="`next_cursor` of the previous page.")


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str) -> int:
    return int(cursor)  # the schema's pattern guarantees digits that fit in 64 bits


def paginate(query: Select[Any], id_column: Any, page: PageQuery, render: Callable[[Any], T]) -> dict[str, Any]:
    """Run `query` one page at a time, newest first; returns {"items": [...], "next": cursor or None}."""
    if page.cursor:
        query = query.where(id_column < decode_cursor(page.cursor))
    rows: Sequence[Any] = db().scalars(query.order_by(id_column.desc()).limit(page.limit + 1)).all()
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(rows[-1].id) if more and rows else None
    next_url = f"{request.base_url}?{urlencode({'limit': page.limit, 'cursor': next_cursor})}" if next_cursor else None
    return {"items": [render(row) for row in rows], "next_cursor": next_cursor, "next": next_url}


def link_header(page: dict[str, Any]) -> dict[str, str]:
    """RFC 8288 Link header pointing at the next page."""
    return {"Link": f'<{page["next"]}>; rel="next"'} if page.get("next") else {}


def page_response(
    query: Select[Any], id_column: Any, page: PageQuery, render: Callable[[Any], Any]
) -> tuple[Response, int, dict[str, str]]:
    """A list endpoint's whole answer: one page as JSON, with the RFC 8288 Link to the next."""
    body = paginate(query, id_column, page, render)
    return jsonify(body), 200, link_header(body)
