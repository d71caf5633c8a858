"""Elasticsearch and OpenSearch: one adapter, two wire clients.

Both engines get the same index settings, mapping and queries; only the client calls differ (Elasticsearch 8+
takes the body's keys as keyword arguments, opensearch-py takes `body=`). The mapping uses core features only
(`standard` analyzer, `index_prefixes` for prefix search, keyword fields), because folding is done in Python
(`text.fold`) and the Elasticsearch distribution we test against ships no `analysis-common` module.

Generations: the alias (`SIXDEG_SEARCH_INDEX`, default `people`) points at one index `people-<stamp>`. A
rebuild creates a new index and marks it with the alias `people-building`; while that alias exists every write
goes to both, so nothing written during the rebuild is lost. The swap moves `people` in one `_aliases` call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from pipelines.search.port import Hit, PersonDoc, SearchPage, SearchRequest, Visibility, query_terms

#: Searches already routed to an old generation get this long to finish before it is deleted.
SWAP_GRACE_SECONDS = 1.0

SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"}
_SHOWN = {"type": "keyword", "index": False, "doc_values": False}
_TEXT = {"type": "text", "analyzer": "standard"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "pid": {"type": "long"},
        "name": _SHOWN,
        "company": {"type": "keyword", "index": False},  # doc values: the company facet
        "title": _SHOWN,
        "location": _SHOWN,
        "name_text": {**_TEXT, "index_prefixes": {"min_chars": 1, "max_chars": 10}},
        "name_key": {"type": "keyword"},
        "company_text": {**_TEXT, "index_prefixes": {"min_chars": 1, "max_chars": 10}},
        "title_text": _TEXT,
        "location_text": _TEXT,
        "company_key": {"type": "keyword"},
        "domains": {"type": "keyword"},
        "owners": {"type": "long"},
        "public": {"type": "boolean"},
    },
}
_SHOWN_FIELDS = ["pid", "name", "company", "title", "location"]


class _Wire:
    """The calls the adapter makes, in one client's dialect."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def create_index(self, name: str, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def alias_indices(self, alias: str) -> list[str]:
        indices = self.client.indices
        if not indices.exists_alias(name=alias):
            return []
        return sorted(dict(indices.get_alias(name=alias)))

    def delete_index(self, name: str) -> None:
        self.client.indices.delete(index=name, ignore_unavailable=True)

    def refresh(self, index: str) -> None:
        self.client.indices.refresh(index=index)

    def get(self, index: str, doc_id: int) -> dict[str, Any] | None:
        found = self.client.options(ignore_status=404).get(index=index, id=str(doc_id))
        return dict(found["_source"]) | {"_version": found["_version"]} if found.get("found") else None

    def health(self) -> None:
        self.client.cluster.health()


class _ElasticsearchWire(_Wire):
    def create_index(self, name: str, body: dict[str, Any]) -> None:
        self.client.indices.create(index=name, **body)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(actions=actions)

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.search(index=index, **body))

    def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(self.client.bulk(operations=operations))


class _OpenSearchWire(_Wire):
    def create_index(self, name: str, body: dict[str, Any]) -> None:
        self.client.indices.create(index=name, body=body)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(body={"actions": actions})

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.search(index=index, body=body))

    def bulk(self, operations: list[dict[str, Any]]) -> dict[str, Any]:
        return dict(self.client.bulk(body=operations))

    def get(self, index: str, doc_id: int) -> dict[str, Any] | None:
        found = self.client.get(index=index, id=str(doc_id), ignore=404)
        return dict(found["_source"]) | {"_version": found["_version"]} if found.get("found") else None

    def delete_index(self, name: str) -> None:
        self.client.indices.delete(index=name, ignore_unavailable=True)


#: Connections an engine client keeps open: more than the threads of one process that share it (the Elasticsearch
#: client's default is 10 per node too).
POOL_CONNECTIONS = 16


class EngineSearch:
    """The search port on Elasticsearch or OpenSearch."""

    def __init__(self, kind: str, url: str, *, alias: str = "people", timeout: float = 10.0) -> None:
        self.name = kind
        self.alias = alias
        self.building = f"{alias}-building"
        if kind == "elasticsearch":
            from elasticsearch import Elasticsearch

            self.wire: _Wire = _ElasticsearchWire(Elasticsearch(url, request_timeout=timeout))
        else:
            from opensearchpy import OpenSearch

            # urllib3 keeps one connection per host unless told otherwise: threads sharing the client (a worker's
            # projections, gunicorn's threads) then opened a new connection for most requests and threw it away
            # ("Connection pool is full, discarding connection", 330 times in one webhook benchmark).
            self.wire = _OpenSearchWire(OpenSearch([url], timeout=timeout, pool_maxsize=POOL_CONNECTIONS))

    def close(self) -> None:
        self.wire.client.close()

    def ping(self) -> None:
        self.wire.health()

    # --- generations ---------------------------------------------------------------------------------------

    def ensure_index(self) -> None:
        if self.wire.alias_indices(self.alias):
            return
        name = self.new_generation(mark_building=False)
        try:
            self.wire.update_aliases([{"add": {"index": name, "alias": self.alias}}])
        except Exception:
            self.wire.delete_index(name)
            if not self.wire.alias_indices(self.alias):  # not a race lost to another process: a real failure
                raise

    def new_generation(self, *, mark_building: bool = True) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        body: dict[str, Any] = {"settings": SETTINGS, "mappings": MAPPINGS}
        if mark_building:
            body["aliases"] = {self.building: {}}
        self.wire.create_index(name, body)
        return name

    def fill(self, generation: str, docs: Sequence[PersonDoc]) -> None:
        self._write([generation], docs, [])

    def fill_delete(self, generation: str, person_ids: Sequence[int]) -> None:
        self._write([generation], [], person_ids)

    def generation_ids(self, generation: str) -> Iterator[int]:
        self.wire.refresh(generation)
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": {"match_all": {}},
                "sort": [{"pid": "asc"}],
                "size": 5_000,
                "_source": ["pid"],
            }
            if after is not None:
                body["search_after"] = after
            hits = self.wire.search(generation, body)["hits"]["hits"]
            if not hits:
                return
            for hit in hits:
                yield int(hit["_source"]["pid"])
            after = hits[-1]["sort"]

    def swap(self, generation: str) -> list[str]:
        old = [i for i in self.wire.alias_indices(self.alias) if i != generation]
        actions: list[dict[str, Any]] = [{"add": {"index": generation, "alias": self.alias}}]
        actions += [{"remove": {"index": i, "alias": self.alias}} for i in old]
        actions.append({"remove": {"index": generation, "alias": self.building}})
        self.wire.update_aliases(actions)
        if old:
            time.sleep(SWAP_GRACE_SECONDS)
            for index in old:
                self.wire.delete_index(index)
        return old

    def clear(self) -> None:
        for index in set(self.wire.alias_indices(self.alias)) | set(self.wire.alias_indices(self.building)):
            self.wire.delete_index(index)

    def refresh(self) -> None:
        self.wire.refresh(self.alias)

    # --- writes --------------------------------------------------------------------------------------------

    def upsert(self, docs: Sequence[PersonDoc]) -> None:
        self._write(self._write_targets(), docs, [])

    def delete(self, person_ids: Sequence[int]) -> None:
        self._write(self._write_targets(), [], person_ids)

    def _write_targets(self) -> list[str]:
        targets = self.wire.alias_indices(self.alias) + self.wire.alias_indices(self.building)
        if not targets:
            self.ensure_index()
            targets = self.wire.alias_indices(self.alias)
        return sorted(set(targets))

    def _write(self, indices: list[str], docs: Sequence[PersonDoc], deletions: Sequence[int]) -> None:
        operations: list[dict[str, Any]] = []
        for index in indices:
            for doc in docs:
                operations.append(
                    {
                        "index": {
                            "_index": index,
                            "_id": str(doc.id),
                            "version": doc.version,
                            "version_type": "external_gte",
                        }
                    }
                )
                operations.append(doc.source())
            for person_id in deletions:
                operations.append({"delete": {"_index": index, "_id": str(person_id)}})
        for start in range(0, len(operations), 2_000):
            self._check(self.wire.bulk(operations[start : start + 2_000]))

    @staticmethod
    def _check(response: dict[str, Any]) -> None:
        """Raise on any failed item except the expected ones: an older version refused, a delete of nothing."""
        if not response.get("errors"):
            return
        for item in response["items"]:
            ((action, result),) = item.items()
            status = result.get("status", 200)
            if status < 300 or status == 409 or (action == "delete" and status == 404):
                continue
            raise RuntimeError(f"search engine refused a {action} of {result.get('_id')}: {result.get('error')}")

    def get(self, person_id: int) -> dict[str, Any] | None:
        indices = self.wire.alias_indices(self.alias)
        return self.wire.get(indices[0], person_id) if indices else None

    # --- reads ---------------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchPage:
        body: dict[str, Any] = {
            "query": {"bool": {"filter": self._filters(request), **self._text_clauses(request.text)}},
            "sort": [{"_score": "desc"}, {"pid": "asc"}],
            "size": request.limit,
            "track_total_hits": True,
            "_source": _SHOWN_FIELDS,
        }
        if request.after is not None:
            body["search_after"] = [request.after[0], request.after[1]]
        if request.facets:
            # `map`: count the matches' companies directly; global ordinals over every company cost more.
            body["aggs"] = {"companies": {"terms": {"field": "company", "size": 10, "execution_hint": "map"}}}
        response = self.wire.search(self.alias, body)
        hits = [_hit(h) for h in response["hits"]["hits"]]
        companies = [
            (bucket["key"], bucket["doc_count"])
            for bucket in response.get("aggregations", {}).get("companies", {}).get("buckets", [])
        ]
        last = response["hits"]["hits"][-1] if response["hits"]["hits"] else None
        next_after = (float(last["sort"][0]), int(last["sort"][1])) if last and len(hits) == request.limit else None
        return SearchPage(
            hits=hits, total=int(response["hits"]["total"]["value"]), companies=companies, next_after=next_after
        )

    def suggest(self, prefix: str, visibility: Visibility, *, limit: int = 8) -> list[Hit]:
        words = query_terms(prefix)
        if not words:
            return []
        text = " ".join(words)
        body = {
            "query": {
                "bool": {
                    "filter": [_visible(visibility)],
                    "must": [{"match_bool_prefix": {"name_text": {"query": text, "operator": "and"}}}],
                    "should": [
                        {"prefix": {"name_key": {"value": text, "boost": 2.0}}},
                        {"match": {"name_text": {"query": text, "operator": "and"}}},
                    ],
                }
            },
            "sort": [{"_score": "desc"}, {"pid": "asc"}],
            "size": limit,
            "_source": _SHOWN_FIELDS,
        }
        return [_hit(h) for h in self.wire.search(self.alias, body)["hits"]["hits"]]

    @staticmethod
    def _filters(request: SearchRequest) -> list[dict[str, Any]]:
        filters = [_visible(request.visibility)]
        if request.company:
            from pipelines.search.text import fold

            filters.append({"term": {"company_key": fold(request.company.strip())}})
        if request.title:
            filters.append(
                {"match": {"title_text": {"query": " ".join(query_terms(request.title)), "operator": "and"}}}
            )
        if request.location:
            filters.append(
                {"match": {"location_text": {"query": " ".join(query_terms(request.location)), "operator": "and"}}}
            )
        if request.only_ids is not None:
            filters.append({"terms": {"pid": sorted(request.only_ids)}})
        return filters

    @staticmethod
    def _text_clauses(text: str) -> dict[str, Any]:
        """Any of: the name's words (exact, the last as a prefix, or with typos), the name's start, words spread
        over name, company, title and location (exact), the company's words as a prefix, or an email domain.
        Typos are forgiven in names only: fuzzy matching company, title and location too doubled the query time
        at 100,000 people (bench/search.py)."""
        words = query_terms(text)
        if not words:
            return {}
        folded = " ".join(words)
        fields = ["name_text^3", "company_text^1.5", "title_text", "location_text"]
        should: list[dict[str, Any]] = [
            {"match": {"name_text": {"query": folded, "operator": "and", "boost": 6}}},
            {"match_bool_prefix": {"name_text": {"query": folded, "operator": "and", "boost": 4}}},
            {"match": {"name_text": {"query": folded, "operator": "and", "fuzziness": "AUTO", "boost": 3}}},
            {"prefix": {"name_key": {"value": folded, "boost": 2}}},
            {"multi_match": {"query": folded, "type": "cross_fields", "fields": fields, "operator": "and"}},
            {"match_bool_prefix": {"company_text": {"query": folded, "operator": "and"}}},
        ]
        domains = [w.strip(".,;").lower() for w in text.split() if "." in w.strip(".")]
        if domains:
            should.append({"terms": {"domains": domains, "boost": 2}})
        return {"must": [{"bool": {"should": should, "minimum_should_match": 1}}]}


def _visible(visibility: Visibility) -> dict[str, Any]:
    if visibility.owners is None:
        return {"match_all": {}}
    should: list[dict[str, Any]] = [{"terms": {"owners": sorted(visibility.owners)}}]
    if visibility.include_public:
        should.append({"term": {"public": True}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def _hit(raw: dict[str, Any]) -> Hit:
    source = raw["_source"]
    return Hit(
        id=int(source["pid"]),
        score=float(raw["sort"][0]) if raw.get("sort") else float(raw.get("_score") or 0.0),
        name=source.get("name") or "",
        company=source.get("company"),
        title=source.get("title"),
        location=source.get("location"),
    )
