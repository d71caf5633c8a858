"""The demo network generator (no services): deterministic, realistic files the real parsers read cleanly, with
the overlaps the demo relies on."""

from collections import Counter
from pathlib import Path

import pytest

from pipelines.accounts import check_password_policy
from pipelines.contacts import importer
from pipelines.contacts.normalize import normalize
from pipelines.contacts.parse import parse_file
from pipelines.contacts.records import NormalizedContact, RowError
from pipelines.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_REGION, generate_network, is_demo_email


@pytest.fixture(scope="module")
def network():
    return generate_network(6)


def _names(network) -> set[str]:
    return {h.name for h in network.humans}


def test_the_same_seed_gives_the_same_network(network):
    again = generate_network(6)
    assert _names(again) == _names(network)
    assert [f.text for f in again.files] == [f.text for f in network.files]
    assert [u.email for u in again.users] == [u.email for u in network.users]


def test_another_seed_gives_other_people(network):
    assert len(_names(generate_network(7)) & _names(network)) < len(_names(network)) // 4


def test_users_are_demo_users_and_the_password_passes_the_policy(network):
    check_password_policy(DEMO_PASSWORD)
    assert network.users[0].email == DEMO_EMAIL
    assert len(network.users) == 5
    assert all(is_demo_email(u.email) for u in network.users)
    assert not is_demo_email("alice@example.com")
    assert not is_demo_email("mallory@sixdeg.example")
    assert is_demo_email("Someone@Demo.Sixdeg.Example")


def test_every_file_is_read_cleanly_by_the_real_parsers(network, tmp_path: Path):
    formats = []
    for number, file in enumerate(network.files):
        path = tmp_path / str(number) / file.filename
        path.parent.mkdir()
        path.write_text(file.text, encoding="utf-8", newline="")
        assert importer.detect(path, "auto", file.filename) == file.fmt
        records = list(parse_file(path, file.fmt))
        assert [r for r in records if isinstance(r, RowError)] == []
        assert len(records) == file.people
        normalized = [normalize(r, DEMO_REGION) for r in records]
        assert all(isinstance(n, NormalizedContact) and n.dropped == () for n in normalized), file.filename
        formats.append(file.fmt)
    assert sorted(set(formats)) == ["google", "linkedin", "vcard"]


def test_the_demo_user_has_a_few_hundred_contacts_from_three_sources(network):
    mine = network.files_of(DEMO_EMAIL)
    assert [f.fmt for f in mine] == ["vcard", "linkedin", "google"]
    assert 300 <= sum(f.people for f in mine) <= 400
    for user in network.users[1:]:
        assert 50 <= sum(f.people for f in network.files_of(user.email)) <= 150


def test_companies_cluster_and_people_look_real(network):
    companies = Counter(h.company.name for h in network.humans)
    assert 25 <= len(companies) <= 40
    assert companies.most_common(1)[0][1] >= 40
    assert sum(1 for n in companies.values() if n >= 15) >= 5
    assert len({h.title for h in network.humans}) >= 25
    assert len({h.place.city for h in network.humans}) >= 10
    assert len({h.work_email for h in network.humans}) == len(network.humans)
    assert len({h.phone for h in network.humans}) == len(network.humans)
