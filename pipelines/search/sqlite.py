"""The embedded search engine: SQLite FTS5.

Same port, same answers in kind as the Elasticsearch/OpenSearch adapter: words folded in Python (`text.fold`),
the last word matched as a prefix, typos tolerated by expanding each word to the index's own words within
Elasticsearch's `AUTO` edit distance (rapidfuzz over the FTS5 vocabulary of names), results ranked by how well the words
match (`text.term_match`) and then BM25, ties by person id.

The file is `SIXDEG_DATA_DIR/<SIXDEG_SEARCH_INDEX>.search.db`. A generation is a set of tables `<g>_docs`,
`<g>_owners`, `<g>_fts`; the `meta` table names the current one (the alias) and the one being built, which
receives every write too until the swap.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from pipelines.search.port import Hit, PersonDoc, SearchPage, SearchRequest, Visibility, query_terms
from pipelines.search.text import fold, fuzziness, term_match

FUZZY_CANDIDATES = 12
VOCAB_MAX_AGE_SECONDS = 5.0
SWAP_GRACE_SECONDS = 1.0
_WEIGHTS = (1.0, 0.5, 0.35, 0.35, 0.5)  # name, company, title, location, domains
_BM25 = "bm25({fts}, 10.0, 3.0, 1.0, 1.0, 2.0)"


def _score(name: str, company: str, title: str, location: str, domains: str, query: str, bm25: float) -> float:
    """How well a document matches: per query word, its best match in any field (weighted by field), then a
    small BM25 share to order equal matches by rarity."""
    wanted = query.split()
    fields = [f.split() for f in (name, company or "", title or "", location or "", domains or "")]
    total = 0.0
    for index, query_term in enumerate(wanted):
        last = index == len(wanted) - 1
        best = 0.0
        for weight, words in zip(_WEIGHTS, fields, strict=True):
            for word in words:
                quality = term_match(query_term, word, prefix=last) * weight
                if quality > best:
                    best = quality
        total += best
    if name.startswith(query):
        total += 0.5
    return round(total - bm25 * 0.01, 9)


class SqliteSearch:
    """The search port on SQLite FTS5."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._vocab: tuple[str, int, float, dict[int, list[str]]] | None = None  # generation, writes, loaded, words
        self._vocab_lock = threading.Lock()
        with self._transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.create_function("match_score", 7, _score, deterministic=True)
            self._local.db = db
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, kind: object, *_: object) -> None:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _transaction(self) -> SqliteSearch._Tx:
        return self._Tx(self._db())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def ping(self) -> None:
        self._db().execute("SELECT 1").fetchone()

    # --- generations ---------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _current(self) -> str | None:
        return self._meta("current")

    def ensure_index(self) -> None:
        if self._current():
            return
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM meta WHERE key = 'current'").fetchone():
                return
            name = self._create_generation(db)
            db.execute("INSERT INTO meta (key, value) VALUES ('current', ?)", (name,))

    @staticmethod
    def _create_generation(db: sqlite3.Connection) -> str:
        g = f"g{time.strftime('%Y%m%d%H%M%S')}_{uuid.uuid4().hex[:6]}"
        db.execute(
            f"CREATE TABLE {g}_docs (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, name TEXT NOT NULL, "
            "company TEXT, title TEXT, location TEXT, name_key TEXT NOT NULL, company_key TEXT, "
            "public INTEGER NOT NULL)"
        )
        db.execute(f"CREATE INDEX {g}_docs_name_key ON {g}_docs (name_key)")
        db.execute(f"CREATE INDEX {g}_docs_company_key ON {g}_docs (company_key)")
        db.execute(
            f"CREATE TABLE {g}_owners (user_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
            "PRIMARY KEY (user_id, person_id)) WITHOUT ROWID"
        )
        db.execute(f"CREATE INDEX {g}_owners_person ON {g}_owners (person_id)")
        db.execute(
            f"CREATE VIRTUAL TABLE {g}_fts USING fts5(name_text, company_text, title_text, location_text, domains, "
            "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')"
        )
        db.execute(f"CREATE VIRTUAL TABLE {g}_vocab USING fts5vocab({g}_fts, 'col')")
        return g

    def new_generation(self) -> str:
        with self._transaction() as db:
            name = self._create_generation(db)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('building', ?)", (name,))
        return name

    def fill(self, generation: str, docs: Sequence[PersonDoc]) -> None:
        with self._transaction() as db:
            self._write(db, [generation], docs, [])

    def fill_delete(self, generation: str, person_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            self._write(db, [generation], [], person_ids)

    def versions(self) -> dict[int, int]:
        g = self._current()
        return dict(self._db().execute(f"SELECT id, version FROM {g}_docs").fetchall()) if g else {}

    def generation_ids(self, generation: str) -> Iterator[int]:
        yield from (row[0] for row in self._db().execute(f"SELECT id FROM {generation}_docs ORDER BY id").fetchall())

    def swap(self, generation: str) -> list[str]:
        with self._transaction() as db:
            old = [row[0] for row in db.execute("SELECT value FROM meta WHERE key = 'current'")]
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('current', ?)", (generation,))
            db.execute("DELETE FROM meta WHERE key = 'building'")
        old = [g for g in old if g != generation]
        if old:
            time.sleep(SWAP_GRACE_SECONDS)
            with self._transaction() as db:
                for g in old:
                    self._drop(db, g)
        return old

    @staticmethod
    def _drop(db: sqlite3.Connection, g: str) -> None:
        for table in ("vocab", "fts", "owners", "docs"):
            db.execute(f"DROP TABLE IF EXISTS {g}_{table}")

    def clear(self) -> None:
        with self._transaction() as db:
            generations = {row[0] for row in db.execute("SELECT value FROM meta WHERE key IN ('current', 'building')")}
            generations |= {
                row[0].removesuffix("_docs")
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'g%\\_docs' ESCAPE '\\'"
                )
            }
            for g in generations:
                self._drop(db, g)
            db.execute("DELETE FROM meta")
        self._vocab = None

    def refresh(self) -> None:
        """Writes are visible when their transaction commits; nothing to do."""

    # --- writes --------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[PersonDoc]) -> None:
        self.ensure_index()
        with self._transaction() as db:
            self._write(db, self._targets(db), docs, [])

    def delete(self, person_ids: Sequence[int]) -> None:
        self.ensure_index()
        with self._transaction() as db:
            self._write(db, self._targets(db), [], person_ids)

    @staticmethod
    def _targets(db: sqlite3.Connection) -> list[str]:
        return sorted({row[0] for row in db.execute("SELECT value FROM meta WHERE key IN ('current', 'building')")})

    @staticmethod
    def _write(
        db: sqlite3.Connection, generations: list[str], docs: Sequence[PersonDoc], deletions: Sequence[int]
    ) -> None:
        for g in generations:
            for person_id in deletions:
                db.execute(f"DELETE FROM {g}_fts WHERE rowid = ?", (person_id,))
                db.execute(f"DELETE FROM {g}_owners WHERE person_id = ?", (person_id,))
                db.execute(f"DELETE FROM {g}_docs WHERE id = ?", (person_id,))
            stored = {
                row[0]: row[1]
                for start in range(0, len(docs), 500)
                for row in db.execute(
                    f"SELECT id, version FROM {g}_docs WHERE id IN ({','.join('?' * len(docs[start : start + 500]))})",
                    [d.id for d in docs[start : start + 500]],
                )
            }
            fresh = [d for d in docs if stored.get(d.id, 0) <= d.version]  # an older version never wins
            replaced = [(d.id,) for d in fresh if d.id in stored]
            db.executemany(f"DELETE FROM {g}_fts WHERE rowid = ?", replaced)
            db.executemany(f"DELETE FROM {g}_owners WHERE person_id = ?", replaced)
            rows = []
            for doc in fresh:
                source = doc.source()
                rows.append((doc, source))
            db.executemany(
                f"INSERT OR REPLACE INTO {g}_docs (id, version, name, company, title, location, name_key, company_key,"
                " public) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id,
                        d.version,
                        d.name,
                        d.company,
                        d.title,
                        d.location,
                        s["name_key"],
                        s["company_key"],
                        int(d.public),
                    )
                    for d, s in rows
                ],
            )
            db.executemany(
                f"INSERT INTO {g}_fts (rowid, name_text, company_text, title_text, location_text, domains) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id,
                        s["name_text"],
                        s["company_text"],
                        s["title_text"],
                        s["location_text"],
                        " ".join(d.email_domains),
                    )
                    for d, s in rows
                ],
            )
            db.executemany(
                f"INSERT OR IGNORE INTO {g}_owners (user_id, person_id) VALUES (?, ?)",
                [(owner, d.id) for d, _ in rows for owner in d.owners],
            )
        if generations:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('writes', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def get(self, person_id: int) -> dict[str, Any] | None:
        g = self._current()
        if not g:
            return None
        db = self._db()
        row = db.execute(
            f"SELECT d.id, d.version, d.name, d.company, d.title, d.location, d.public, {g}_fts.domains "
            f"FROM {g}_docs d JOIN {g}_fts ON {g}_fts.rowid = d.id WHERE d.id = ?",
            (person_id,),
        ).fetchone()
        if row is None:
            return None
        owners = [
            r[0] for r in db.execute(f"SELECT user_id FROM {g}_owners WHERE person_id = ? ORDER BY 1", (person_id,))
        ]
        return {
            "pid": row[0],
            "_version": row[1],
            "name": row[2],
            "company": row[3],
            "title": row[4],
            "location": row[5],
            "public": bool(row[6]),
            "domains": row[7].split(),
            "owners": owners,
        }

    # --- reads ---------------------------------------------------------------------------------------------

    def _vocabulary(self, g: str) -> dict[int, list[str]]:
        """The words of names in generation `g`, by length (typos are forgiven in names only)."""
        writes = int(self._meta("writes") or 0)
        cached = self._vocab
        now = time.monotonic()
        if cached and cached[0] == g and (cached[1] == writes or now - cached[2] < VOCAB_MAX_AGE_SECONDS):
            return cached[3]
        with self._vocab_lock:
            by_length: dict[int, list[str]] = {}
            for (term,) in self._db().execute(f"SELECT term FROM {g}_vocab WHERE col = 'name_text'"):
                by_length.setdefault(len(term), []).append(term)
            self._vocab = (g, writes, now, by_length)
        return by_length

    def _near(self, g: str, word: str) -> list[str]:
        """Name words within the typo tolerance of `word` (only words of a length that could be)."""
        allowed = fuzziness(word)
        if not allowed:
            return []
        vocabulary = self._vocabulary(g)
        found: list[tuple[int, str]] = []
        for length in range(len(word) - allowed, len(word) + allowed + 1):
            for candidate, distance, _index in process.extract(
                word, vocabulary.get(length, ()), scorer=OSA.distance, score_cutoff=allowed, limit=FUZZY_CANDIDATES
            ):
                if candidate != word:
                    found.append((int(distance), candidate))
        return [candidate for _distance, candidate in sorted(found)[:FUZZY_CANDIDATES]]

    def _expression(self, g: str, words: list[str]) -> str:
        """FTS5 MATCH: every word somewhere (exactly; the last also as a prefix) or a near spelling in the name."""
        parts = []
        for index, word in enumerate(words):
            options = [f'"{word}"']
            if index == len(words) - 1:
                options.append(f'"{word}" *')
            near = self._near(g, word)
            if near:
                options.append("name_text : (" + " OR ".join(f'"{c}"' for c in near) + ")")
            parts.append("(" + " OR ".join(options) + ")")
        return " AND ".join(parts)

    def _where(self, g: str, request_visibility: Visibility, params: list[Any]) -> str:
        if request_visibility.owners is None:
            return "1"
        owners = sorted(request_visibility.owners)
        marks = ",".join("?" * len(owners))
        clause = f"EXISTS (SELECT 1 FROM {g}_owners o WHERE o.person_id = d.id AND o.user_id IN ({marks}))"
        params.extend(owners)
        if request_visibility.include_public:
            clause = f"(d.public = 1 OR {clause})"
        return clause

    def search(self, request: SearchRequest) -> SearchPage:
        g = self._current()
        if not g:
            return SearchPage(hits=[], total=0)
        words = query_terms(request.text)
        params: list[Any] = []
        where = [self._where(g, request.visibility, params)]
        if request.company:
            where.append("d.company_key = ?")
            params.append(fold(request.company.strip()))
        fts_parts = []
        if words:
            fts_parts.append(self._expression(g, words))
        for column, value in (("title_text", request.title), ("location_text", request.location)):
            value_words = query_terms(value or "")
            if value_words:
                fts_parts.append(f"{column} : (" + " AND ".join(f'"{w}"' for w in value_words) + ")")
        if request.only_ids is not None:
            ids = sorted(request.only_ids)
            if not ids:
                return SearchPage(hits=[], total=0)
            where.append("d.id IN (SELECT value FROM json_each(?))")
            params.append(_json_list(ids))
        db = self._db()
        query = " ".join(words)
        if fts_parts:
            fts = f"{g}_fts"  # FTS5 wants MATCH and bm25() on the table's own name, not an alias
            source = f"{fts} JOIN {g}_docs d ON d.id = {fts}.rowid"
            where.insert(0, f"{fts} MATCH ?")
            params.insert(0, " AND ".join(fts_parts))
            score = (
                f"match_score({fts}.name_text, {fts}.company_text, {fts}.title_text, {fts}.location_text, "
                f"{fts}.domains, ?, {_BM25.format(fts=fts)})"
            )
        else:
            source = f"{g}_docs d"
            score = "0.0 * ?"
        where_sql = " AND ".join(where)
        total, companies = 0, []
        for company, count in db.execute(
            f"SELECT d.company, count(*) FROM {source} WHERE {where_sql} GROUP BY d.company_key", params
        ):
            total += count
            if company and request.facets:
                companies.append((company, count))
        companies.sort(key=lambda c: (-c[1], c[0]))
        page_params = [query, *params]
        after = ""
        if request.after is not None:
            after = "WHERE score < ? OR (score = ? AND id > ?)"
            page_params += [request.after[0], request.after[0], request.after[1]]
        rows = db.execute(
            f"SELECT * FROM (SELECT d.id AS id, {score} AS score, d.name, d.company, d.title, d.location "
            f"FROM {source} WHERE {where_sql}) {after} ORDER BY score DESC, id LIMIT ?",
            [*page_params, request.limit],
        ).fetchall()
        hits = [Hit(id=r[0], score=float(r[1]), name=r[2], company=r[3], title=r[4], location=r[5]) for r in rows]
        next_after = (hits[-1].score, hits[-1].id) if len(hits) == request.limit else None
        return SearchPage(hits=hits, total=total, companies=companies[:10], next_after=next_after)

    def suggest(self, prefix: str, visibility: Visibility, *, limit: int = 8) -> list[Hit]:
        g = self._current()
        words = query_terms(prefix)
        if not g or not words:
            return []
        text = " ".join(words)
        db = self._db()
        params: list[Any] = []
        visible = self._where(g, visibility, params)
        # First names that start with what was typed (an index range scan), then any word that does (FTS5).
        starting = db.execute(
            f"SELECT d.id, d.name, d.company, d.title, d.location FROM {g}_docs d "
            f"WHERE d.name_key >= ? AND d.name_key < ? AND {visible} ORDER BY d.name_key, d.id LIMIT ?",
            [text, text + "\U0010ffff", *params, limit],
        ).fetchall()
        hits = [Hit(id=r[0], score=2.0, name=r[1], company=r[2], title=r[3], location=r[4]) for r in starting]
        if len(hits) < limit:
            seen = [h.id for h in hits]
            expression = (
                "name_text : (" + " AND ".join(f'"{w}"' for w in words[:-1]) + (" AND " if len(words) > 1 else "")
            )
            expression += f'"{words[-1]}" *)'
            fts = f"{g}_fts"
            more = db.execute(
                f"SELECT d.id, d.name, d.company, d.title, d.location FROM {fts} JOIN {g}_docs d ON d.id = {fts}.rowid "
                f"WHERE {fts} MATCH ? AND {visible} AND d.id NOT IN (SELECT value FROM json_each(?)) "
                f"ORDER BY match_score({fts}.name_text, '', '', '', '', ?, {_BM25.format(fts=fts)}) DESC, d.id LIMIT ?",
                [expression, *params, _json_list(seen), text, limit - len(hits)],
            ).fetchall()
            hits += [Hit(id=r[0], score=1.0, name=r[1], company=r[2], title=r[3], location=r[4]) for r in more]
        return hits


def _json_list(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"
