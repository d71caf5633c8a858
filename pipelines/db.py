"""Database engine and the unit of work.

The boundary (a request, an actor run, a CLI command) opens one unit of work and commits it;
code in pipelines/ only receives the session (DESIGN.md principle 4).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    ColumnElement,
    Engine,
    Insert,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.sqltypes import NullType, String

from pipelines.config import Config

_engines: dict[tuple[str, bool], Engine] = {}
_engines_lock = threading.Lock()


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for Postgres and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_db_engine(config: Config, *, for_requests: bool = False) -> Engine:
    """A new engine for the configured database, with per-backend connection settings. `for_requests`: on
    Postgres every statement on its connections gives up after the backend timeout (see `get_engine`)."""
    url = normalize_database_url(config.database_url)
    timeout = config.backend_timeout
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=timeout,
        connect_args=_postgres_connect_args(timeout, statement_timeout=for_requests),
    )
    event.listen(engine, "connect", lambda dbapi_connection, _record: send_lists_as_binary(dbapi_connection))
    return engine


def send_lists_as_binary(connection: psycopg.Connection) -> None:
    """Send Python lists (the `= ANY(:array)` of `among`, the `unnest` arrays of the bulk writes) to Postgres in
    binary. psycopg builds a text array literal in Python, quoting each element: about 0.9 ms for a list of
    1,000 strings, against 0.2 ms in binary, and a batch of an import sends a dozen such lists."""
    connection.adapters.register_dumper(list, ListBinaryDumper)


def _postgres_connect_args(timeout: float, *, statement_timeout: bool = False) -> dict[str, Any]:
    return {
        "connect_timeout": max(1, int(timeout)),
        "application_name": "sixdeg",
        # Our statements are never prepared on the server, so each is planned for its actual parameters: a
        # generic plan made while a table was small kept seq-scanning it after a big import had filled it (seen:
        # identity lookups 10x slower). This is narrower than `plan_cache_mode=force_custom_plan`, which did the
        # same but also re-planned every foreign-key check of every inserted row (COPY into contacts took twice
        # as long); those keep Postgres' cached plans, which its ANALYZE invalidates.
        "prepare_threshold": None,
        # A request never waits forever on a row lock held by a batch job.
        "options": "-c lock_timeout=30000"
        + (f" -c statement_timeout={int(timeout * 1000)}" if statement_timeout else ""),
    }


@lru_cache(maxsize=8)
def is_postgres(database_url: str) -> bool:
    return make_url(normalize_database_url(database_url)).get_backend_name() == "postgresql"


def analyze(session: Session, *tables: str) -> None:
    """Refresh the Postgres planner's statistics of `tables` after a bulk write, so the queries that follow are
    planned for the rows now there (autovacuum analyzes only a minute or more later). Nothing on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


_own_connections = threading.local()
T = TypeVar("T")


def with_autocommit_connection(target: Config | Engine, work: Callable[[psycopg.Connection], T]) -> T:
    """Run `work` on this thread's own autocommit psycopg connection to `target`'s Postgres (a config, or an
    engine of ours; opened on first use, reopened after a fork or a lost connection). For hot paths whose whole
    job is one or two statements, where a pooled SQLAlchemy connection (a pre-ping, BEGIN and COMMIT) costs
    several times the statements themselves: the webhook receiver, the outbox's mark-sent. A connection error is
    retried once on a fresh connection, so `work` must be safe to repeat."""
    if isinstance(target, Engine):  # its pool timeout is the backend timeout (see create_db_engine)
        url, timeout = target.url.render_as_string(hide_password=False), target.pool.timeout()  # type: ignore[attr-defined]
    else:
        url, timeout = normalize_database_url(target.database_url), target.backend_timeout
    for attempt in (1, 2):
        connection = _own_connection(url, timeout)
        try:
            return work(connection)
        except psycopg.OperationalError:
            _held().pop(url, None)
            connection.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _own_connection(url: str, timeout: float) -> psycopg.Connection:
    held = _held().get(url)
    if held is not None and held[0] == os.getpid() and not held[1].closed and not held[1].broken:
        return held[1]
    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connect_args = _postgres_connect_args(timeout, statement_timeout=True)
    connection = psycopg.connect(libpq_url, autocommit=True, **connect_args)
    send_lists_as_binary(connection)
    _held()[url] = (os.getpid(), connection)
    return connection


def _held() -> dict[str, tuple[int, psycopg.Connection]]:
    """This thread's own connections, by database URL (with the process id that opened each)."""
    if not hasattr(_own_connections, "by_url"):
        _own_connections.by_url = {}
    return _own_connections.by_url


def get_engine(config: Config, *, for_requests: bool = False) -> Engine:
    """One engine per database URL per process (engines own connection pools), and with `for_requests` a second
    one for API requests: no request waits on the database longer than the backend timeout, set once when each
    connection opens rather than by a `SET LOCAL` round trip per request. Workers keep the first: an import
    batch or a sweep may rightly run longer."""
    url = normalize_database_url(config.database_url)
    key = (url, for_requests)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_db_engine(config, for_requests=for_requests)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and after fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _session_factories.clear()


_session_factories: dict[Engine, sessionmaker[Session]] = {}


def session_factory(config: Config, *, for_requests: bool = False) -> sessionmaker[Session]:
    """Sessions bound to the configured database (`for_requests`: the API's engine, see `get_engine`); objects
    stay usable after commit.

    One factory per engine: each `sessionmaker` makes a new Session subclass, and SQLAlchemy then copies the
    class-level event listeners (the outbox's) onto it, which made every API request pay for a new class."""
    engine = get_engine(config, for_requests=for_requests)
    factory = _session_factories.get(engine)
    if factory is None:
        factory = _session_factories[engine] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


@contextmanager
def unit_of_work(config: Config | Engine) -> Iterator[Session]:
    """Open a session (on the configured database, or on `engine`), commit when the block succeeds, roll back
    when it raises."""
    engine = config if isinstance(config, Engine) else get_engine(config)
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_conflicts(session: Session, table: Table, conflict_columns: tuple[str, ...]) -> Insert:
    """INSERT ... ON CONFLICT (columns) DO NOTHING, for Postgres and SQLite alike (use with executemany rows)."""
    return insert_ignoring_conflicts_on(session.get_bind().dialect.name, table, conflict_columns)


def insert_ignoring_conflicts_on(dialect: str, table: Table, conflict_columns: tuple[str, ...]) -> Insert:
    """`insert_ignoring_conflicts` for a dialect by name (for statements built once and cached)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


def among(session: Session, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`; on Postgres as `= ANY(:array)`: one parameter however many values, and a plan that
    uses the column's index (a long expanded IN list is slow to build and to plan)."""
    if session.get_bind().dialect.name == "postgresql":
        element_type = column.type if not isinstance(column.type, NullType) else String()
        return column == any_(bindparam(None, list(values), type_=ARRAY(element_type)))
    return column.in_(list(values))


def _with_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[list[Column[Any]], list[list[Any]]]:
    """The columns to write and each row's values in their order, with column defaults applied (COPY and
    unnest bypass SQLAlchemy's)."""
    columns = [c for c in table.columns if any(c.name in row for row in rows) or c.default is not None]
    # Per column: its name, and how to fill it when a row lacks it (a callable default, or a constant).
    fillers: list[tuple[str, Callable[[], Any] | None, Any]] = []
    for column in columns:
        default = column.default
        if default is not None and default.is_callable:
            fillers.append((column.name, partial(default.arg, None), None))  # type: ignore[union-attr]
        else:
            fillers.append((column.name, None, default.arg if default is not None else None))  # type: ignore[union-attr]
    values = [
        [row[name] if name in row else make() if make is not None else constant for name, make, constant in fillers]
        for row in rows
    ]
    return columns, values


class JsonText(str):
    """A JSON column's value already serialized (by `bulk_insert`'s caller, perhaps in another process)."""

    __slots__ = ()


def _as_json_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, JsonText) else json.dumps(value)


#: How `bulk_insert` sends each column type in a binary COPY. Binary COPY costs a fifth of the client's CPU of
#: a text COPY (0.75 against 3.9 ms for 1,000 contact rows: text COPY formats every timestamp as text in Python's
#: time). A JSON value goes as its text, which is what the json type's binary form is. A table with a column of
#: another type is copied as text.
_COPY_BINARY_TYPES = {
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "VARCHAR": "text",
    "TEXT": "text",
    "JSON": "text",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
    "DATE": "date",
    "BOOLEAN": "bool",
    "FLOAT": "float8",
    "DOUBLE PRECISION": "float8",
}


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many new rows: COPY on Postgres (several times faster than INSERT executemany), executemany on
    SQLite. Column defaults are applied here, since COPY bypasses SQLAlchemy's. A JSON column's value may be
    given as JsonText."""
    if not rows:
        return
    columns, values = _with_defaults(table, rows)
    json_columns = {i for i, c in enumerate(columns) if isinstance(c.type, JSON)}
    if session.get_bind().dialect.name != "postgresql":
        for record in values:
            for i in json_columns:
                if isinstance(record[i], JsonText):
                    record[i] = json.loads(record[i])
        session.execute(insert(table), [dict(zip([c.name for c in columns], v, strict=True)) for v in values])
        return
    names = ", ".join(f'"{c.name}"' for c in columns)
    dialect = session.get_bind().dialect
    wire_types = [_COPY_BINARY_TYPES.get(re.sub(r"\(.*\)", "", c.type.compile(dialect=dialect))) for c in columns]
    binary = all(wire_types)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN' + (" (FORMAT BINARY)" if binary else "")) as copy:
        if binary:
            copy.set_types(wire_types)
        for record in values:
            for i in json_columns:
                record[i] = _as_json_text(record[i])
            copy.write_row(record)


def bulk_insert_ignoring_conflicts(
    session: Session,
    table: Table,
    conflict_columns: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    *,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]] | None:
    """Insert many rows, skipping those that clash on `conflict_columns`. On Postgres one statement,
    `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING`, instead of one statement per row (a 1,000-row
    import batch spent 140 ms in executemany); executemany on SQLite. Column defaults are applied here.

    With `returning`, Postgres answers those columns of the rows it inserted (the others clashed); SQLite answers
    None (its executemany cannot return rows), and the caller finds out another way."""
    if not rows:
        return [] if returning else None
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert_ignoring_conflicts(session, table, conflict_columns), list(rows))
        return None
    columns, values = _with_defaults(table, rows)
    dialect = session.get_bind().dialect
    arrays = {f"c{i}": [record[i] for record in values] for i in range(len(columns))}
    unnest = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(columns))
    names = ", ".join(f'"{c.name}"' for c in columns)
    conflict = ", ".join(f'"{name}"' for name in conflict_columns)
    statement = (
        f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({unnest}) ON CONFLICT ({conflict}) DO NOTHING'
    )
    if not returning:
        session.execute(text(statement), arrays)
        return None
    statement += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    return [tuple(row) for row in session.execute(text(statement), arrays)]


def bulk_update_by_id(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Update many rows by primary key `id`, each row a dict of `id` and the columns to set.

    On Postgres one `UPDATE ... FROM unnest(arrays)` per distinct set of columns, instead of one statement per row
    (an import batch re-seeing 1,000 known edges spent 30 ms in executemany); SQLAlchemy's bulk UPDATE on
    SQLite. No ORM events run and loaded objects are not refreshed, as with SQLAlchemy's bulk UPDATE."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(model), list(rows))
        return
    table: Table = model.__table__
    dialect = session.get_bind().dialect
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(name for name in row if name != "id")), []).append(row)
    for names, group in groups.items():
        columns = [table.c[name] for name in names]
        arrays: dict[str, list[Any]] = {"ids": [row["id"] for row in group]}
        casts, sets = [f"CAST(:ids AS {table.c.id.type.compile(dialect=dialect)}[])"], []
        for index, column in enumerate(columns):
            is_json = isinstance(column.type, JSON)  # sent as text, cast back to the column's type per value
            column_type = column.type.compile(dialect=dialect)
            arrays[f"c{index}"] = [_as_json_text(row[column.name]) if is_json else row[column.name] for row in group]
            casts.append(f"CAST(:c{index} AS {'TEXT' if is_json else column_type}[])")
            sets.append(f'"{column.name}" = v.c{index}' + (f"::{column_type}" if is_json else ""))
        aliases = ", ".join(["id", *(f"c{index}" for index in range(len(columns)))])
        session.execute(
            text(
                f'UPDATE "{table.name}" AS t SET {", ".join(sets)} '
                f"FROM unnest({', '.join(casts)}) AS v({aliases}) WHERE t.id = v.id"
            ),
            arrays,
        )
