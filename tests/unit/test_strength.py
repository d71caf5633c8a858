from datetime import UTC, date, datetime

from pipelines.graph.strength import Evidence, explain, strength

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, tzinfo=UTC)


def test_a_plain_contact_seen_today():
    assert strength(Evidence(sources=1, last_seen=NOW), TODAY) == 0.4


def test_every_kind_of_evidence_adds_its_documented_share():
    full = Evidence(sources=3, mutual=True, connected_on=date(2015, 1, 1), same_company=True, last_seen=NOW)
    terms = explain(full, TODAY)
    assert terms == {
        "listed": 0.3,
        "extra_sources": 0.2,
        "mutual": 0.2,
        "longevity": 0.1,
        "same_company": 0.1,
        "recency": 0.1,
    }
    assert strength(full, TODAY) == 1.0


def test_extra_sources_are_capped_and_recency_fades_over_two_years():
    many = Evidence(sources=9, last_seen=NOW)
    assert explain(many, TODAY)["extra_sources"] == 0.2
    two_years = Evidence(sources=1, last_seen=datetime(2024, 11, 27, tzinfo=UTC))
    assert 0.04 < explain(two_years, TODAY)["recency"] < 0.06
    assert explain(Evidence(sources=1, last_seen=datetime(2020, 1, 1, tzinfo=UTC)), TODAY)["recency"] == 0


def test_strength_stays_in_unit_interval_and_orders_sensibly():
    weak = strength(Evidence(sources=1), TODAY)
    strong = strength(Evidence(sources=2, mutual=True, last_seen=NOW), TODAY)
    assert 0 <= weak < strong <= 1
    assert strength(Evidence(sources=0), TODAY) == 0.0
