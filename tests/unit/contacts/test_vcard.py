"""vCard 2.1 / 3.0 / 4.0 parsing: encodings, folding, Apple groups, photos, birthdays, broken cards."""

from pipelines.contacts.records import ParsedContact, RowError
from pipelines.contacts.vcard import parse_vcard_lines


def parse(text: str, **kw) -> list:
    return list(parse_vcard_lines(text.splitlines(keepends=True), **kw))


def test_vcard_30_basic():
    text = (
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
        "FN:Doe\\, John\r\n"
        "N:Doe;John;Quincy,Q.;Mr.;Jr.\r\n"
        "NICKNAME:Johnny,JD\r\n"
        "EMAIL;TYPE=INTERNET,PREF:John.Doe@Example.com\r\n"
        "EMAIL;TYPE=INTERNET:john@home.example\r\n"
        "TEL;TYPE=CELL:+1 415 555 0123\r\n"
        "TEL;TYPE=WORK,FAX:+1 415 555 0199\r\n"
        "ORG:Acme\\, Inc.;Research;Lab 3\r\n"
        "TITLE:Chief\\, Engineer\r\n"
        "ADR;TYPE=HOME:;;1 Home St;Springfield;IL;62701;USA\r\n"
        "ADR;TYPE=WORK:;;2 Work Ave;Chicago;IL;60601;USA\r\n"
        "URL:http\\://www.acme.example\r\n"
        "BDAY:1980-04-15\r\n"
        "NOTE:Line one\\nLine two\\, with comma\r\n"
        "CATEGORIES:friends,work\r\n"
        "END:VCARD\r\n"
    )
    assert parse(text) == [
        ParsedContact(
            line=1,
            external_key="urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
            display_name="Doe, John",  # vobject's own decoding would keep only "Doe"
            given_name="John",
            middle_name="Quincy Q.",
            family_name="Doe",
            nickname="Johnny",
            emails=("John.Doe@Example.com", "john@home.example"),
            phones=("+1 415 555 0123",),  # the fax line is not a personal number
            company="Acme, Inc.",
            title="Chief, Engineer",
            department="Research, Lab 3",
            location="Chicago, IL, USA",  # work address preferred
            urls=("http://www.acme.example",),
            birthday="1980-04-15",
            notes="Line one\nLine two, with comma",
        )
    ]


def test_vcard_21_quoted_printable_and_charsets():
    text = (
        "BEGIN:VCARD\r\n"
        "VERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg;;;\r\n"
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg M=C3=BC=\r\n"
        "ller\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:Iksi=F1ski\r\n"  # no CHARSET and not UTF-8: read as CP1252
        "TITLE;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:Direktor f=FCr Gr=F6=DFe\r\n"
        "TEL;WORK;VOICE:+49 30 1234567\r\n"
        "TEL;FAX:+49 30 7654321\r\n"
        "EMAIL;INTERNET;PREF:joerg@example.de\r\n"
        "END:VCARD\r\n"
    )
    (card,) = parse(text)
    assert isinstance(card, ParsedContact)
    assert (card.display_name, card.given_name, card.family_name) == ("Jörg Müller", "Jörg", "Müller")
    assert card.notes == "Iksiñski"
    assert card.title == "Direktor für Größe"
    assert card.phones == ("+49 30 1234567",)
    assert card.emails == ("joerg@example.de",)


def test_folded_lines_are_unfolded():
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Alexandra Catherine\n  Longname-Smith\nEMAIL:alexandra.catherine@exa\n mple.com\n"
        "NOTE:a\n\tb\nEND:VCARD\n"
    )
    (card,) = parse(text)
    assert card.display_name == "Alexandra Catherine Longname-Smith"
    assert card.emails == ("alexandra.catherine@example.com",)
    assert card.notes == "ab"


def test_apple_item_groups_and_labels():
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Appleseed;Johnny;;;\r\nFN:Johnny Appleseed\r\n"
        "item1.EMAIL;type=INTERNET;type=pref:johnny@example.com\r\n"
        "item1.X-ABLabel:_$!<Other>!$_\r\n"
        "item2.TEL:+1 (408) 555-0100\r\n"
        "item2.X-ABLabel:fax\r\n"
        "item3.TEL;type=pref:+1 (408) 555-0101\r\n"
        "item3.X-ABLabel:_$!<Mobile>!$_\r\n"
        "item4.URL;type=pref:https\\://www.linkedin.com/in/johnny\r\n"
        "item4.X-ABLabel:_$!<HomePage>!$_\r\n"
        "item5.URL:https://profiles.example/johnny\r\n"
        "item5.X-ABLabel:LinkedIn\r\n"
        "X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny\r\n"
        "X-SOCIALPROFILE;type=skype:johnny.skype\r\n"
        "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-15\r\n"
        "END:VCARD\r\n"
    )
    (card,) = parse(text)
    assert card.emails == ("johnny@example.com",)
    assert card.phones == ("+1 (408) 555-0101",)  # item2 is labelled fax
    assert card.profile_urls == (
        "https://www.linkedin.com/in/johnny",
        "https://profiles.example/johnny",
        "https://twitter.com/johnny",
    )
    assert card.urls == ()
    assert card.birthday == "--04-15"


def test_photos_are_skipped_in_every_form():
    photo_30 = "PHOTO;ENCODING=b;TYPE=JPEG:" + "A" * 70 + "\r\n" + "".join(f" {'B' * 74}\r\n" for _ in range(50))
    photo_21 = "PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n" + "".join(f"{'C' * 76}\r\n" for _ in range(20)) + "\r\n"
    logo_40 = "LOGO:data:image/png;base64," + "D" * 5000 + "\r\n"
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:With Photo\r\n" + photo_30 + "EMAIL:p30@example.com\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Photo;With;;;\r\n" + photo_21 + "TEL;CELL:+1 415 555 0100\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:With Logo\r\n" + logo_40 + "END:VCARD\r\n"
    )
    first, second, third = parse(text)
    assert (first.display_name, first.emails) == ("With Photo", ("p30@example.com",))
    assert (second.family_name, second.phones) == ("Photo", ("+1 415 555 0100",))
    assert third.display_name == "With Logo"
    assert all("AAAA" not in repr(c) and "CCCC" not in repr(c) for c in (first, second, third))


def test_birthdays_without_year_and_text_birthdays():
    def bday(line: str) -> str | None:
        (card,) = parse(f"BEGIN:VCARD\nVERSION:4.0\nFN:X\n{line}\nEND:VCARD\n")
        return card.birthday

    assert bday("BDAY:--0415") == "--04-15"
    assert bday("BDAY:--04-15") == "--04-15"
    assert bday("BDAY:19850415") == "1985-04-15"
    assert bday("BDAY;VALUE=date:1985-04-15T00:00:00Z") == "1985-04-15"
    assert bday("BDAY;VALUE=text:circa 1800") is None
    assert bday("BDAY:not a date") is None


def test_cards_without_n_or_fn():
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Curie;Marie;;;\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Only FN\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nEMAIL:only@example.com\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nTEL:+44 20 7946 0958\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nN:;;;;\nFN:\nORG:Acme\nNOTE:nobody\nEND:VCARD\n"
    )
    marie, fn, email, tel, nobody = parse(text)
    assert (marie.line, marie.given_name, marie.family_name, marie.display_name) == (1, "Marie", "Curie", None)
    assert (fn.line, fn.display_name) == (5, "Only FN")
    assert (email.line, email.emails) == (9, ("only@example.com",))
    assert (tel.line, tel.phones) == (13, ("+44 20 7946 0958",))
    assert nobody == RowError(
        17, "no name, email or phone", "BEGIN:VCARD\nVERSION:3.0\nN:;;;;\nFN:\nORG:Acme\nNOTE:nobody"
    )


def test_broken_card_is_a_row_error_and_the_next_cards_parse():
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:First\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Broken\nthis line is not a property\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Unclosed\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Last\nEND:VCARD\n"
    )
    first, broken, unclosed, last = parse(text)
    assert first.display_name == "First"
    assert isinstance(broken, RowError)
    assert broken.line == 5
    assert broken.reason.startswith("line 8 is not a vCard property")
    assert isinstance(unclosed, RowError)
    assert (unclosed.line, unclosed.reason) == (10, "the card has no END:VCARD line (the file may be cut off)")
    assert (last.line, last.display_name) == (13, "Last")


def test_bad_charset_is_a_row_error_only_for_used_properties():
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nFN:Kept\nX-CUSTOM;CHARSET=nonsense;ENCODING=QUOTED-PRINTABLE:=FF\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=QUOTED-PRINTABLE;CHARSET=no-such-charset:Caf=C3=A9\nEND:VCARD\n"
    )
    kept, cafe = parse(text)
    assert kept.display_name == "Kept"  # the unreadable line is one we do not use
    assert cafe.display_name == "Café"  # an unknown charset falls back to UTF-8


def test_missing_end_at_end_of_file_and_text_outside_cards():
    text = "junk before\nmore junk\nBEGIN:VCARD\nFN:A\nEND:VCARD\nVERSION:3.0\nFN:B\nEND:VCARD\nBEGIN:VCARD\nFN:C\n"
    records = parse(text)
    assert [(type(r).__name__, r.line) for r in records] == [
        ("RowError", 1),
        ("ParsedContact", 3),
        ("RowError", 6),
        ("RowError", 9),
    ]
    assert records[0].reason == "text outside BEGIN:VCARD ... END:VCARD was ignored"
    assert records[0].raw == "junk before\nmore junk"
    assert records[2].reason == "a card without its BEGIN:VCARD line cannot be read"
    assert records[3].reason == "the card has no END:VCARD line (the file may be cut off)"


def test_vcard_21_agent_is_not_a_separate_card():
    text = (
        "BEGIN:VCARD\nVERSION:2.1\nFN:Boss\nAGENT:\nBEGIN:VCARD\nVERSION:2.1\nFN:Assistant\n"
        "EMAIL:assistant@example.com\nEND:VCARD\nEMAIL:boss@example.com\nEND:VCARD\n"
    )
    (boss,) = parse(text)
    assert boss.display_name == "Boss"
    assert boss.emails == ("boss@example.com",)


def test_vcard_40_uris_and_params():
    text = (
        "BEGIN:VCARD\nVERSION:4.0\nFN;ALTID=1;LANGUAGE=en:Jane Doe\nFN;ALTID=1;LANGUAGE=ja:ジェーン\n"
        'TEL;VALUE=uri;TYPE="voice,cell":tel:+1-555-555-5555;ext=102\n'
        'TEL;VALUE=uri;TYPE="fax,work":tel:+1-555-555-5556\n'
        "EMAIL;PREF=1:jane@example.com\nUID:urn:uuid:abc\nEND:VCARD\n"
    )
    (jane,) = parse(text)
    assert jane.display_name == "Jane Doe"
    assert jane.phones == ("+1-555-555-5555 ext. 102",)
    assert jane.external_key == "urn:uuid:abc"


def test_fields_are_truncated():
    (card,) = parse(f"BEGIN:VCARD\nFN:{'x' * 50}\nNOTE:{'y' * 5000}\nEND:VCARD\n", max_field_length=10)
    assert card.display_name == "x" * 10
    assert card.notes == "y" * 10


def test_case_insensitive_begin_end_and_bom():
    (card,) = parse("\ufeffbegin:vCard\nversion:3.0\nfn:lower\nend:vCard\n")
    assert card.display_name == "lower"
