"""Normalization rules: emails, phones, LinkedIn URLs, names, dates, and the contact as a whole."""

import json
from datetime import date

import pytest

from pipelines.contacts.normalize import (
    birthday_from_parts,
    canonical_linkedin_url,
    clean_name,
    is_profile_url,
    iso_birthday,
    normalize,
    normalize_email,
    normalize_phone,
    parse_date,
)
from pipelines.contacts.records import NormalizedContact, ParsedContact, RowError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ada   Lovelace ", "Ada Lovelace"),
        ("Ada\u00a0\tLovelace", "Ada Lovelace"),
        ("van der Berg", "van der Berg"),  # case is kept
        ("Zoe\u0308", "Zoë"),  # NFC
        ("   ", None),
        (None, None),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("John.Doe@Example.COM", "john.doe@example.com"),
        ("  jane@example.org ", "jane@example.org"),
        ("mailto:Bob@Example.com", "bob@example.com"),
        ("Bob Smith <bob@example.com>", "bob@example.com"),
        ("user@bücher.example", "user@xn--bcher-kva.example"),  # IDNA domain
        ("foo@", None),
        ("not an email", None),
        ("a@b", None),  # no dot in the domain
        ("john@doe.invalid", None),  # special-use domains are rejected by email-validator
        ("", None),
    ],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),  # an explicit country code wins over the region
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("tel:+1-919-676-9515", None, "+19196769515"),
        ("+1-919-676-9515 ext. 12", None, "+19196769515"),
        ("(415) 555-0123", None, None),  # national number without a default region
        ("555-0123", "US", None),  # local-only: no area code
        ("123", "US", None),
        ("call me", "US", None),
        ("", "US", None),
    ],
)
def test_normalize_phone(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.linkedin.com/in/jerry-mathis/?trk=export", "https://www.linkedin.com/in/jerry-mathis"),
        ("linkedin.com/in/alex-johnson", "https://www.linkedin.com/in/alex-johnson"),
        ("http://linkedin.com/in/JohnDoe/", "https://www.linkedin.com/in/johndoe"),
        ("https://uk.linkedin.com/in/john-smith-82a505", "https://www.linkedin.com/in/john-smith-82a505"),
        ("https://de.linkedin.com/in/Max-Muster#about", "https://www.linkedin.com/in/max-muster"),
        ("https://www.linkedin.com/in/jane/details/experience/", "https://www.linkedin.com/in/jane"),
        ("https://www.linkedin.com/mwlite/in/jane-doe", "https://www.linkedin.com/in/jane-doe"),
        (
            "https://sy.linkedin.com/pub/krzysztof-marzec/a7/576/b50?trk=biz_employee_pub",
            "https://www.linkedin.com/in/krzysztof-marzec-b50576a7",
        ),
        ("https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa", "https://www.linkedin.com/in/josé-garcía"),
        ("www.linkedin.com/in/ACoAAB1cD2eF3gH", "https://www.linkedin.com/in/ACoAAB1cD2eF3gH"),
        ("https://www.linkedin.com/company/acme", None),
        ("https://www.linkedin.com/pub/dir/John/Doe", None),
        ("https://www.linkedin.com/", None),
        ("https://notlinkedin.com/in/x", None),
        ("https://linkedin.com.evil.example/in/x", None),
        ("https://example.com/in/john", None),
        ("", None),
    ],
)
def test_canonical_linkedin_url(raw, expected):
    assert canonical_linkedin_url(raw) == expected


def test_is_profile_url():
    assert is_profile_url("https://linkedin.com/in/johndoe")
    assert is_profile_url("https://twitter.com/someone")
    assert is_profile_url("github.com/someone")
    assert not is_profile_url("https://www.linkedin.com/company/acme")
    assert not is_profile_url("https://acme.com")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1980-04-15", "1980-04-15"),
        ("19800415", "1980-04-15"),
        ("1980-04-15T00:00:00Z", "1980-04-15"),
        ("--0415", "--04-15"),
        ("--04-15", "--04-15"),
        ("1604-04-15", "--04-15"),  # Apple's "no year"
        ("4/15/1980", "1980-04-15"),  # Outlook, month first
        ("15/4/1980", "1980-04-15"),  # day first when it cannot be a month
        ("15.04.1980", "1980-04-15"),
        ("15 Apr 1980", "1980-04-15"),
        ("April 15, 1980", "1980-04-15"),
        ("2001-02-29", None),  # no such day
        ("--02-29", "--02-29"),  # fine without a year
        ("circa 1800", None),
        ("0/0/00", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_birthday(raw, expected):
    assert iso_birthday(raw) == expected


def test_birthday_from_parts():
    assert birthday_from_parts("1900", "1", "2") == "1900-01-02"
    assert birthday_from_parts("", "12", "24") == "--12-24"
    assert birthday_from_parts(None, "", "") is None
    assert birthday_from_parts("1999", "13", "1") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01 Jul 2026", date(2026, 7, 1)),
        ("15-Jan-24", date(2024, 1, 15)),
        ("5-May-25", date(2025, 5, 5)),
        ("15 January 2024", date(2024, 1, 15)),
        ("Jan 15, 2024", date(2024, 1, 15)),
        ("2024-01-15", date(2024, 1, 15)),
        ("1/15/2024", date(2024, 1, 15)),
        ("15.01.2024", date(2024, 1, 15)),
        ("15 Foo 2024", None),
        ("Jan 15", None),  # no year: not a date
        ("yesterday", None),
    ],
)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


def test_normalize_full_contact():
    parsed = ParsedContact(
        line=7,
        given_name=" Ada ",
        family_name="Lovelace",
        emails=("Ada@Example.com", "ada@example.com", "broken@"),
        phones=("(415) 555-0123", "555-0123"),
        company=" Analytical  Engines ",
        profile_urls=("https://uk.linkedin.com/in/Ada-L/",),
        urls=("https://ada.example", "not a url"),
        birthday="--12-10",
        connected_on=date(2024, 1, 15),
        notes="line one \r\n line two ",
    )
    result = normalize(parsed, "US")
    assert isinstance(result, NormalizedContact)
    assert result.line == 7
    assert result.display_name == "Ada Lovelace"
    assert result.given_name == "Ada"
    assert result.company == "Analytical Engines"
    assert result.emails == ("ada@example.com",)  # lowercased and de-duplicated
    assert result.phones == ("+14155550123",)
    assert result.profile_url == "https://www.linkedin.com/in/ada-l"
    assert result.urls == ("https://ada.example",)
    assert result.birthday == "--12-10"
    assert result.connected_on == date(2024, 1, 15)
    assert result.notes == "line one\nline two"
    assert result.dropped == ("invalid email 'broken@'", "invalid phone '555-0123'", "invalid URL 'not a url'")
    assert result.external_key == "email:ada@example.com"  # its strongest identifier names the record


def test_external_key_survives_a_job_change_and_falls_back_to_phone_profile_name():
    base = ParsedContact(
        line=1, given_name="Ada", family_name="Lovelace", emails=("Ada@Example.com",), company="Analytical Engines"
    )
    moved = ParsedContact(
        line=9, given_name="Ada", family_name="Lovelace", emails=("ada@example.com",), company="Babbage & Co"
    )
    assert normalize(base, None).external_key == normalize(moved, None).external_key
    assert normalize(ParsedContact(line=1, phones=("+14155550123",)), None).external_key == "phone:+14155550123"
    named = normalize(ParsedContact(line=1, given_name="Ada"), None).external_key
    assert named.startswith("name:") and named == normalize(ParsedContact(line=5, given_name="ada"), None).external_key
    long_uid = normalize(ParsedContact(line=1, given_name="Ada", external_key="u" * 600), None).external_key
    assert long_uid.startswith("sha256:") and len(long_uid) == 71


def test_display_name_falls_back_to_email_then_phone():
    by_email = normalize(ParsedContact(line=1, emails=("x@example.com",), phones=("+14155550123",)), None)
    by_phone = normalize(ParsedContact(line=1, phones=("+1 415 555 0123",)), None)
    by_nick = normalize(ParsedContact(line=1, nickname="Moose", emails=("x@example.com",)), None)
    by_fn = normalize(ParsedContact(line=1, display_name="Dr. Ada", given_name="Ada"), None)
    assert isinstance(by_email, NormalizedContact) and by_email.display_name == "x@example.com"
    assert isinstance(by_phone, NormalizedContact) and by_phone.display_name == "+14155550123"
    assert isinstance(by_nick, NormalizedContact) and by_nick.display_name == "Moose"
    assert isinstance(by_fn, NormalizedContact) and by_fn.display_name == "Dr. Ada"


def test_phone_only_and_name_only_contacts_are_kept():
    phone_only = normalize(ParsedContact(line=3, phones=("+442079460958",)), None)
    name_only = normalize(ParsedContact(line=4, family_name="Curie"), None)
    assert isinstance(phone_only, NormalizedContact) and phone_only.phones == ("+442079460958",)
    assert isinstance(name_only, NormalizedContact) and name_only.display_name == "Curie"


def test_nothing_left_is_a_row_error_that_says_what_was_dropped():
    result = normalize(ParsedContact(line=9, emails=("foo@",), phones=("12",), company="Acme"), "US")
    assert isinstance(result, RowError)
    assert result.line == 9
    assert result.reason == "no name, email or phone left after dropping invalid email 'foo@'; invalid phone '12'"
    assert '"company": "Acme"' in result.raw


def test_missing_region_is_explained_in_dropped():
    result = normalize(ParsedContact(line=1, given_name="A", phones=("(415) 555-0123",)), None)
    assert isinstance(result, NormalizedContact)
    assert result.phones == ()
    assert result.dropped == ("phone '(415) 555-0123' has no country code and no default region is set",)


def test_external_key_uses_the_source_id_when_given():
    result = normalize(ParsedContact(line=1, external_key=" urn:uuid:1234 ", given_name="A"), None)
    assert isinstance(result, NormalizedContact)
    assert result.external_key == "urn:uuid:1234"


def test_external_key_and_content_hash_are_deterministic():
    a = ParsedContact(line=2, given_name="Ada", family_name="Lovelace", emails=("ada@example.com",), company="AE")
    b = ParsedContact(line=99, given_name="ada", family_name="LOVELACE", emails=("ADA@example.com",), company="ae")
    c = ParsedContact(line=2, given_name="Ada", family_name="Lovelace", emails=("ada@other.example",), company="AE")
    na, nb, nc = (normalize(x, None) for x in (a, b, c))
    assert isinstance(na, NormalizedContact) and isinstance(nb, NormalizedContact)
    assert isinstance(nc, NormalizedContact)
    assert na.external_key == nb.external_key  # same identity, different line and case
    assert na.external_key != nc.external_key
    assert na.content_hash() == normalize(a, None).content_hash()  # same content -> same hash
    assert na.content_hash() != nb.content_hash()  # names differ in case: different content
    moved = normalize(ParsedContact(**{**vars(a), "line": 500}), None)
    assert isinstance(moved, NormalizedContact)
    assert moved.content_hash() == na.content_hash()  # the line is not part of the content


def test_fields_is_json_serializable():
    result = normalize(
        ParsedContact(line=1, given_name="A", emails=("a@example.com",), connected_on=date(2024, 5, 1)), None
    )
    assert isinstance(result, NormalizedContact)
    data = result.fields()
    assert json.loads(json.dumps(data)) == data
    assert data["connected_on"] == "2024-05-01"
    assert data["emails"] == ["a@example.com"]
    assert set(data) >= {"line", "external_key", "display_name", "profile_url", "dropped"}
    assert len(result.content_hash()) == 64


def test_second_linkedin_profile_is_kept_as_url():
    result = normalize(
        ParsedContact(
            line=1,
            given_name="A",
            profile_urls=("linkedin.com/in/first", "https://www.linkedin.com/in/first/", "linkedin.com/in/second"),
        ),
        None,
    )
    assert isinstance(result, NormalizedContact)
    assert result.profile_url == "https://www.linkedin.com/in/first"
    assert result.urls == ("linkedin.com/in/second",)
