"""Search: the port, its engines (SQLite FTS5, Elasticsearch, OpenSearch), documents and queries."""
