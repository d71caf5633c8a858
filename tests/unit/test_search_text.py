"""The text rules every search engine shares."""

from __future__ import annotations

import pytest

from pipelines.search.port import decode_cursor, encode_cursor
from pipelines.search.text import fold, fuzziness, highlight, term_match, terms


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Zoë", "zoe"),
        ("José Álvarez", "jose alvarez"),
        ("Łukasz Müller", "lukasz muller"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("Zoe\u0308", "zoe"),
        ("Ørsted", "orsted"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_terms_split_on_punctuation_and_underscores() -> None:
    assert terms("Mary-Jane O'Neil_Smith, PhD") == ["mary", "jane", "o", "neil", "smith", "phd"]
    assert terms("") == []


def test_fuzziness_is_elasticsearch_auto() -> None:
    assert [fuzziness("ab"), fuzziness("abc"), fuzziness("abcde"), fuzziness("abcdef")] == [0, 1, 1, 2]


def test_term_match_scale() -> None:
    assert term_match("smith", "smith", prefix=False) == 1.0
    assert term_match("smi", "smith", prefix=True) == 0.8
    assert term_match("smi", "smith", prefix=False) == 0.0
    assert term_match("smtih", "smith", prefix=False) == 0.6  # a transposition is one edit
    assert term_match("garsiya", "garcia", prefix=False) == 0.4  # two edits
    assert term_match("gorsiya", "garcia", prefix=False) == 0.0  # three edits
    assert term_match("jo", "ja", prefix=False) == 0.0  # two letters: no typo allowed


def test_highlight_ranges_in_the_original_text() -> None:
    assert highlight("Zoë Kowalski", "zoe") == [(0, 3)]
    assert highlight("Zoë Kowalski", "kowalsky") == [(4, 12)]
    assert highlight("John Smithers", "john smi") == [(0, 4), (5, 13)]
    assert highlight("John Smithers", "smi john") == [(0, 4)]  # only the last word is a prefix
    assert highlight("<b>Jo</b>", "b") == [(1, 2), (7, 8)]
    assert highlight(None, "x") == [] and highlight("Ann", "") == []


def test_cursor_round_trip_and_rejection() -> None:
    assert decode_cursor(encode_cursor((12.5, 42))) == (12.5, 42)
    for bad in ("", "nope", "W10", encode_cursor((1.0, 2))[:-3] + "!!"):
        with pytest.raises(ValueError):
            decode_cursor(bad)
