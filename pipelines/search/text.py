"""Text rules every search engine shares: folding, tokens, typo tolerance and highlighting.

Accent and case folding happens here, in Python, before text reaches any engine, so that Elasticsearch,
OpenSearch and SQLite FTS5 see the same tokens and agree on what matches (Zoë = Zoe, José = Jose, Łukasz =
Lukasz, Müller = Muller). It also keeps the index mappings to core features: the Elasticsearch distribution we test
against has no `analysis-common` module (no `asciifolding`, no `edge_ngram`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_QUERY_TERMS = 8


@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lowercase ASCII transliteration: 'Zoë Łukasz-Müller' → 'zoe lukasz-muller'.

    Cached: projecting a batch of people folds the same companies, titles and places over and over."""
    return anyascii(unicodedata.normalize("NFKC", text)).casefold()


def terms(text: str) -> list[str]:
    """The folded words of `text`, in order (punctuation and underscores split words)."""
    return _WORD.findall(fold(text))


def fuzziness(term: str) -> int:
    """Edits tolerated for a term, as Elasticsearch's `AUTO`: none up to 2 letters, 1 up to 5, then 2."""
    return 0 if len(term) <= 2 else 1 if len(term) <= 5 else 2


def term_match(query_term: str, word: str, *, prefix: bool) -> float:
    """How well one folded query term matches one folded word: 1 exact, 0.8 prefix (when allowed), 0.6 one edit,
    0.4 two edits, 0 no match. The same scale ranks results on the embedded engine and marks highlights."""
    if word == query_term:
        return 1.0
    if prefix and word.startswith(query_term):
        return 0.8
    allowed = fuzziness(query_term)
    if allowed and abs(len(word) - len(query_term)) <= allowed:
        distance = OSA.distance(query_term, word, score_cutoff=allowed)
        if distance <= allowed:
            return 0.6 if distance == 1 else 0.4
    return 0.0


def highlight(text: str | None, query: str, *, prefix: bool = True) -> list[tuple[int, int]]:
    """Character ranges [start, end) of the words of `text` that the query matched (exactly, as a prefix of the
    last query term, or within its typo tolerance). Ranges, not markup, so a client cannot be tricked into
    rendering a name as HTML."""
    if not text:
        return []
    wanted = terms(query)[:MAX_QUERY_TERMS]
    if not wanted:
        return []
    spans = []
    for match in _WORD.finditer(text):
        word = fold(match.group())
        for index, query_term in enumerate(wanted):
            if term_match(query_term, word, prefix=prefix and index == len(wanted) - 1) > 0:
                spans.append((match.start(), match.end()))
                break
    return spans
