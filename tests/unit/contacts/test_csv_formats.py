"""CSV flavours: LinkedIn, Google (current and legacy), Outlook, Thunderbird, generic; and row-level rules."""

from datetime import date
from pathlib import Path

import pytest

from pipelines.contacts.csv_formats import analyze, iter_records, map_header, normalize_header
from pipelines.contacts.parse import parse_file
from pipelines.contacts.records import ParsedContact, RowError


def parse_text(tmp_path: Path, text: str, name: str = "contacts.csv", fmt: str = "auto", **kw) -> list:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return list(parse_file(path, fmt, **kw))


def contacts(records: list) -> list[ParsedContact]:
    return [r for r in records if isinstance(r, ParsedContact)]


def errors(records: list) -> list[RowError]:
    return [r for r in records if isinstance(r, RowError)]


# --- LinkedIn ---------------------------------------------------------------------------------------------

LINKEDIN_PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are missing. You '
    'will only see email addresses for connections who have allowed it, see https://www.linkedin.com/help."\n'
    "\n"
)


def test_linkedin_with_preamble(tmp_path):
    text = (
        LINKEDIN_PREAMBLE + "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Jerry,Mathis,https://www.linkedin.com/in/Jerry-Mathis/?trk=export,jerry@example.com,"
        '"Example Partners, LLC",Founder,01 Jul 2026\n'
        "Alex,Johnson,linkedin.com/in/alex-johnson,,AWS,Solutions Architect,15 Jun 2026\n"
    )
    records = parse_text(tmp_path, text, "Connections.csv")
    assert errors(records) == []
    jerry, alex = contacts(records)
    assert jerry == ParsedContact(
        line=5,
        external_key="https://www.linkedin.com/in/jerry-mathis",
        given_name="Jerry",
        family_name="Mathis",
        emails=("jerry@example.com",),
        company="Example Partners, LLC",
        title="Founder",
        profile_urls=("https://www.linkedin.com/in/Jerry-Mathis/?trk=export",),
        connected_on=date(2026, 7, 1),
    )
    assert alex.line == 6
    assert alex.emails == ()
    assert alex.external_key == "https://www.linkedin.com/in/alex-johnson"
    assert alex.connected_on == date(2026, 6, 15)


def test_linkedin_url_last_and_short_dates(tmp_path):
    text = (
        "First Name,Last Name,Email Address,Company,Position,Connected On,URL\n"
        "John,Doe,john@example.com,Acme Corp,CEO,15-Jan-24,https://linkedin.com/in/johndoe\n"
        "Charlie,Davis,,Stealth,Co-founder,5-May-25,https://linkedin.com/in/charliedavis\n"
    )
    john, charlie = contacts(parse_text(tmp_path, text))
    assert (john.line, john.company, john.title) == (2, "Acme Corp", "CEO")
    assert john.connected_on == date(2024, 1, 15)
    assert john.external_key == "https://www.linkedin.com/in/johndoe"
    assert charlie.connected_on == date(2025, 5, 5)


def test_linkedin_old_export_without_url(tmp_path):
    text = (
        "First Name,Last Name,Email Address,Company,Position,Connected On\n"
        "Ada,Lovelace,ada@example.com,Engines,Analyst,2024-03-01\n"
        "Grace,Hopper,,Navy,Rear Admiral,someday\n"
    )
    ada, grace = contacts(parse_text(tmp_path, text))
    assert ada.external_key is None
    assert ada.profile_urls == ()
    assert ada.connected_on == date(2024, 3, 1)
    assert grace.connected_on is None  # unreadable dates are left out, the contact is kept


def test_linkedin_blank_and_empty_rows(tmp_path):
    text = (
        LINKEDIN_PREAMBLE + "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        ",,,,,,\n"
        "\n"
        ",,,,Acme,CEO,01 Jul 2026\n"
        "Ada,,,,,,\n"
    )
    records = parse_text(tmp_path, text, "Connections.csv")
    assert [type(r).__name__ for r in records] == ["RowError", "ParsedContact"]
    assert records[0] == RowError(7, "no name, email or phone", ",,,,Acme,CEO,01 Jul 2026")
    assert records[1].given_name == "Ada"
    assert records[1].line == 8


# --- Google -----------------------------------------------------------------------------------------------


def test_google_legacy_with_multiple_values(tmp_path):
    text = (
        "Name,Given Name,Additional Name,Family Name,Yomi Name,Nickname,Birthday,Location,Notes,Group Membership,"
        "E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,"
        "Phone 2 - Type,Phone 2 - Value,Organization 1 - Type,Organization 1 - Name,Organization 1 - Yomi Name,"
        "Organization 1 - Title,Organization 1 - Department,Website 1 - Type,Website 1 - Value\n"
        '"Zoë, Smith",Zoë,Q,Smith,ゾイ,Zo,--04-15,Berlin,"line 1\nline 2",* myContacts ::: Friends,'
        "* Home,zoe@example.com ::: zoe@work.example,Work,zoe@work.example,Mobile,+49 30 1234567 ::: +49 170 1234567,"
        "Work Fax,+49 30 7654321,,Unicode Works,,Engineer,R&D,Profile,https://www.linkedin.com/in/zoe\n"
        "Next,Next,,One,,,,,,,,next@example.com,,,,,,,,,,,,,\n"
    )
    records = parse_text(tmp_path, text)
    assert errors(records) == []
    zoe, nxt = contacts(records)
    assert zoe.line == 2
    assert (zoe.display_name, zoe.given_name, zoe.middle_name, zoe.family_name) == ("Zoë, Smith", "Zoë", "Q", "Smith")
    assert zoe.nickname == "Zo"
    assert zoe.emails == ("zoe@example.com", "zoe@work.example")  # split on ':::' and de-duplicated
    assert zoe.phones == ("+49 30 1234567", "+49 170 1234567")  # the 'Work Fax' phone is not a personal number
    assert (zoe.company, zoe.title, zoe.department) == ("Unicode Works", "Engineer", "R&D")
    assert zoe.location == "Berlin"
    assert zoe.birthday == "--04-15"
    assert zoe.notes == "line 1\nline 2"
    assert zoe.profile_urls == ("https://www.linkedin.com/in/zoe",)
    assert zoe.external_key is None  # only LinkedIn's own export makes the profile the source id
    assert nxt.line == 4  # the quoted newline moved the next record one line down
    assert nxt.emails == ("next@example.com",)


def test_google_current_format(tmp_path):
    text = (
        "First Name,Middle Name,Last Name,Phonetic First Name,Name Prefix,Nickname,File As,Organization Name,"
        "Organization Title,Organization Department,Birthday,Notes,Labels,E-mail 1 - Label,E-mail 1 - Value,"
        "Phone 1 - Label,Phone 1 - Value,Phone 2 - Label,Phone 2 - Value,Address 1 - Label,Address 1 - City,"
        "Address 1 - Region,Address 1 - Country,Website 1 - Label,Website 1 - Value\n"
        'John,,Doe,Jon,Dr,,"Doe, John",Acme Corp,CEO,Sales,1980-04-15,,* myContacts,Work,john@example.com,'
        "Mobile,+1-415-555-0123,Pager,+1-415-555-9999,Work,San Francisco,CA,USA,Website,https://acme.com\n"
    )
    (john,) = contacts(parse_text(tmp_path, text))
    assert (john.given_name, john.middle_name, john.family_name) == ("John", None, "Doe")
    assert john.display_name is None  # "File As" and prefixes are not names we keep
    assert (john.company, john.title, john.department) == ("Acme Corp", "CEO", "Sales")
    assert john.emails == ("john@example.com",)
    assert john.phones == ("+1-415-555-0123",)
    assert john.location == "San Francisco, CA, USA"
    assert john.urls == ("https://acme.com",)
    assert john.birthday == "1980-04-15"


# --- Outlook ----------------------------------------------------------------------------------------------


def test_outlook(tmp_path):
    text = (
        "First Name,Middle Name,Last Name,Title,Suffix,Web Page,Birthday,Notes,E-mail Address,E-mail Type,"
        "E-mail Display Name,E-mail 2 Address,E-mail 3 Address,Primary Phone,Home Phone,Mobile Phone,Pager,"
        "Home Fax,Company Main Phone,Business Phone,Business Fax,Company,Job Title,Department,Business City,"
        "Business State,Business Country,Home City\n"
        "Ada,,Lovelace,Mrs.,,http://ada.example,12/10/1815,,ada@example.com,SMTP,Ada (ada@example.com),"
        "ada@work.example,,,+44 20 7946 0000,+44 7700 900000,+44 7700 900001,+44 20 7946 0001,+44 20 7946 0002,"
        "+44 20 7946 0003,+44 20 7946 0004,Analytical Engines,Analyst,Research,London,,UK,Brighton\n"
    )
    (ada,) = contacts(parse_text(tmp_path, text))
    assert ada.title == "Analyst"  # Outlook's "Title" is the honorific
    assert ada.emails == ("ada@example.com", "ada@work.example")
    assert ada.phones == ("+44 20 7946 0000", "+44 7700 900000", "+44 20 7946 0003")  # no pager/fax/main line
    assert (ada.company, ada.department) == ("Analytical Engines", "Research")
    assert ada.location == "London, UK"  # business address first
    assert ada.urls == ("http://ada.example",)
    assert ada.birthday == "1815-12-10"


# --- Thunderbird ------------------------------------------------------------------------------------------

THUNDERBIRD_HEADER = (
    "First Name,Last Name,Display Name,Nickname,Primary Email,Secondary Email,Work Phone,Home Phone,Fax Number,"
    "Pager Number,Mobile Number,Home Address,Home Address 2,Home City,Home State,Home ZipCode,Home Country,"
    "Work Address,Work Address 2,Work City,Work State,Work ZipCode,Work Country,Job Title,Department,Organization,"
    "Web Page 1,Web Page 2,Birth Year,Birth Month,Birth Day,Custom 1,Custom 2,Custom 3,Custom 4,Notes,Screen Name"
)
THUNDERBIRD_ROW = (
    "First,Last,Display Name,Nickname,primaryemail@example.com,secondemail@example.com,123-456-7890,234-567-8901,"
    "345-678-9012,456-789-0123,567-890-1234,Home Address Line 1,Home Address Line 2,Home City,Home State,Home Zip,"
    "Home Country,Work Address Line 1,Work Address Line 2,Work City,Work State,Work Zip,Work Country,Job Title,"
    "Department,Organization Name,http://127.0.0.1,http://localhost,1900,1,2,Custom Field 1,Custom Field 2,"
    "Custom Field 3,Custom Field 4,Notes,screenname"
)
THUNDERBIRD_EXPECTED = ParsedContact(
    line=2,
    display_name="Display Name",
    given_name="First",
    family_name="Last",
    nickname="Nickname",
    emails=("primaryemail@example.com", "secondemail@example.com"),
    phones=("123-456-7890", "234-567-8901", "567-890-1234"),  # no fax, no pager
    company="Organization Name",
    title="Job Title",
    department="Department",
    location="Work City, Work State, Work Country",
    urls=("http://127.0.0.1", "http://localhost"),
    birthday="1900-01-02",
    notes="Notes",
)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_thunderbird_delimiters(tmp_path, delimiter):
    text = THUNDERBIRD_HEADER.replace(",", delimiter) + "\n" + THUNDERBIRD_ROW.replace(",", delimiter) + "\n"
    records = parse_text(tmp_path, text)
    assert records == [THUNDERBIRD_EXPECTED]


def test_thunderbird_without_header_uses_its_column_order(tmp_path):
    records = parse_text(tmp_path, THUNDERBIRD_ROW + "\n")
    assert records == [ParsedContact(**{**vars(THUNDERBIRD_EXPECTED), "line": 1})]


def test_thunderbird_fmt_forces_the_column_order_on_narrow_files(tmp_path):
    records = parse_text(tmp_path, "Ada,Lovelace,Ada L,,ada@example.com\n", fmt="thunderbird")
    assert records == [
        ParsedContact(
            line=1, given_name="Ada", family_name="Lovelace", display_name="Ada L", emails=("ada@example.com",)
        )
    ]


def test_headerless_values_are_recognised(tmp_path):
    text = "John Doe,John,Doe,john@example.com\nJane Roe,Jane,Roe,jane@example.com\n"
    records = parse_text(tmp_path, text)
    assert records == [
        ParsedContact(
            line=1, display_name="John Doe", given_name="John", family_name="Doe", emails=("john@example.com",)
        ),
        ParsedContact(
            line=2, display_name="Jane Roe", given_name="Jane", family_name="Roe", emails=("jane@example.com",)
        ),
    ]


def test_headerless_names_and_phones(tmp_path):
    text = "Ada,Lovelace,+44 20 7946 0958\nGrace,Hopper,+1 415 555 0123\n"
    first, _ = contacts(parse_text(tmp_path, text))
    assert (first.given_name, first.family_name, first.phones) == ("Ada", "Lovelace", ("+44 20 7946 0958",))


# --- generic ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field", "expected"),
    [
        ("Full Name", "display_name", "V"),
        ("Name", "display_name", "V"),
        ("Given Name", "given_name", "V"),
        ("First", "given_name", "V"),
        ("Surname", "family_name", "V"),
        ("Family Name", "family_name", "V"),
        ("E-Mail", "emails", ("v@example.com",)),
        ("Work Email", "emails", ("v@example.com",)),
        ("mail", "emails", ("v@example.com",)),
        ("Mobile", "phones", ("+1 415 555 0123",)),
        ("Tel", "phones", ("+1 415 555 0123",)),
        ("Cell Phone", "phones", ("+1 415 555 0123",)),
        ("Organisation", "company", "V"),
        ("Employer", "company", "V"),
        ("Position", "title", "V"),
        ("Job Title", "title", "V"),
        ("Title", "title", "V"),  # job title in a generic file when there is no "Job Title"
        ("Dept", "department", "V"),
        ("City", "location", "V"),
        ("LinkedIn", "profile_urls", ("https://linkedin.com/in/vee",)),
        ("Website", "urls", ("https://v.example",)),
        ("Comments", "notes", "V"),
        ("DOB", "birthday", "1990-01-31"),
    ],
)
def test_generic_header_synonyms(tmp_path, header, field, expected):
    values = {
        "emails": "v@example.com",
        "phones": "+1 415 555 0123",
        "profile_urls": "https://linkedin.com/in/vee",
        "urls": "https://v.example",
        "birthday": "1990-01-31",
    }
    text = f"Nickname,{header}\nNick,{values.get(field, 'V')}\n"
    (contact,) = contacts(parse_text(tmp_path, text))
    assert getattr(contact, field) == expected


def test_generic_title_next_to_job_title_is_an_honorific(tmp_path):
    text = "Display Name,Title,First Name,Job Title\nAda L,Mrs,Ada,Analyst\n"
    (ada,) = contacts(parse_text(tmp_path, text))
    assert ada.title == "Analyst"


def test_generic_semicolon_with_quoted_delimiters(tmp_path):
    text = 'Name;Email;Company\n"Doe; John";john@example.com;"Acme; Inc"\n'
    (john,) = contacts(parse_text(tmp_path, text))
    assert (john.display_name, john.company) == ("Doe; John", "Acme; Inc")


def test_emails_listed_in_one_cell(tmp_path):
    (c,) = contacts(parse_text(tmp_path, 'Name,Email\nAda,"a@example.com; b@example.com, c@example.com"\n'))
    assert c.emails == ("a@example.com", "b@example.com", "c@example.com")


def test_location_parts_are_joined(tmp_path):
    text = "Name,Home City,Home State,Home Country,Work City,Work Country\nA,Bath,Somerset,UK,,\nB,Bath,,UK,Paris,FR\n"
    a, b = contacts(parse_text(tmp_path, text))
    assert a.location == "Bath, Somerset, UK"
    assert b.location == "Paris, FR"  # work address is preferred


# --- row-level rules --------------------------------------------------------------------------------------


def test_multiline_quoted_fields_keep_line_numbers(tmp_path):
    text = 'Name,Notes\nA,"one\ntwo\nthree"\nB,x\n\nC,"y"\n'
    a, b, c = contacts(parse_text(tmp_path, text))
    assert (a.line, a.notes) == (2, "one\ntwo\nthree")
    assert (b.line, c.line) == (5, 7)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends(tmp_path, newline):
    lines = ["Name,Notes", "A,x", 'B,"multi' + newline + 'line"', "C,y", ""]
    records = parse_text(tmp_path, newline.join(lines))
    assert [(r.line, r.display_name) for r in records] == [(2, "A"), (3, "B"), (5, "C")]
    assert records[1].notes == f"multi{newline}line"  # as given; normalization unifies line ends


def test_unbalanced_quote_is_one_row_error_and_parsing_continues(tmp_path):
    rows = ["Name,Email", "Ada,ada@example.com", 'Bad "row,"bad@example.com', "Bob,bob@example.com"]
    rows += [f"P{i},p{i}@example.com" for i in range(1100)]  # more than MAX_RECORD_LINES after the stray quote
    text = "\n".join(rows) + "\n"
    text = text.replace('Bad "row,"bad@example.com', 'Bad,"bad@example.com')
    records = parse_text(tmp_path, text)
    errs = errors(records)
    assert len(errs) == 1
    assert errs[0].line == 3
    assert "never ends" in errs[0].reason
    assert errs[0].raw == 'Bad,"bad@example.com'
    names = [c.display_name for c in contacts(records)]
    assert names[:3] == ["Ada", "Bob", "P0"]
    assert len(names) == 1102
    assert contacts(records)[1].line == 4


def test_unbalanced_quote_at_end_of_file(tmp_path):
    records = parse_text(tmp_path, 'Name,Email\nAda,ada@example.com\nBob,"bob@example.com\nCy,cy@example.com\n')
    assert [type(r).__name__ for r in records] == ["ParsedContact", "RowError", "ParsedContact"]
    assert records[1].line == 3
    assert records[2].line == 4


def test_too_many_fields_is_a_row_error(tmp_path):
    text = "Name,Email,Company\nAda,ada@example.com,Acme, Inc\nBob,bob@example.com,Beta,,\n"
    records = parse_text(tmp_path, text)
    assert isinstance(records[0], RowError)
    assert records[0].line == 2
    assert records[0].reason.startswith("the row has 4 fields but the header has 3")
    assert records[0].raw == "Ada,ada@example.com,Acme, Inc"
    assert isinstance(records[1], ParsedContact)  # extra empty cells are harmless
    assert records[1].company == "Beta"


def test_short_rows_are_padded(tmp_path):
    (c,) = contacts(parse_text(tmp_path, "Name,Email,Company,Title\nAda,ada@example.com\n"))
    assert (c.display_name, c.company, c.title) == ("Ada", None, None)


def test_nul_byte_after_the_head_is_a_row_error(tmp_path):
    filler = "".join(f"P{i},p{i}@example.com\n" for i in range(5000))  # > 64 KiB, so detection sees no NUL
    records = parse_text(tmp_path, "Name,Email\n" + filler + "A\x00b,ab@example.com\nC,c@example.com\n")
    assert isinstance(records[-2], RowError) and records[-2].line == 5002
    assert "NUL characters" in records[-2].reason
    assert records[-1].display_name == "C"


def test_fields_are_truncated_to_max_field_length(tmp_path):
    text = f"Name,Notes\n{'n' * 50},{'x' * 5000}\n"
    (c,) = contacts(parse_text(tmp_path, text, max_field_length=20))
    assert c.display_name == "n" * 20
    assert c.notes == "x" * 20


def test_row_error_raw_is_truncated(tmp_path):
    text = "Name,Email\n" + ",".join(["x"] * 2000) + "\n"
    (err,) = parse_text(tmp_path, text)
    assert isinstance(err, RowError)
    assert len(err.raw) == 1000


def test_very_long_rows_are_row_errors(tmp_path):
    text = "Name,Notes\nA," + "x" * 300_000 + "\nB,ok\n"
    records = parse_text(tmp_path, text)
    assert isinstance(records[0], RowError)
    assert (records[0].line, records[0].reason) == (2, "the row is longer than 262,144 characters and was skipped")
    assert records[1].display_name == "B"


def test_repeated_header_rows_are_skipped(tmp_path):
    text = "Name,Email\nA,a@example.com\nName,Email\nB,b@example.com\n"
    assert [c.display_name for c in contacts(parse_text(tmp_path, text))] == ["A", "B"]


# --- building blocks --------------------------------------------------------------------------------------


def test_normalize_header():
    assert normalize_header("\ufeffE-mail 1 - Value") == "email 1 value"
    assert normalize_header("  Job_Title ") == "job title"
    assert normalize_header("Manager's Name") == "manager s name"


def test_map_header_skips_phonetic_and_label_columns():
    roles = {c.index: c.role for c in map_header(["Given Name Yomi", "E-mail 1 - Type", "Phone 1 - Label", "Name"])}
    assert roles == {3: "display"}


def test_iter_records_groups_quoted_lines():
    records = list(iter_records(['a,"b\n', 'c"\n', "d,e\n"], ","))
    assert [(r.line, r.lines) for r in records] == [(1, ('a,"b\n', 'c"\n')), (3, ("d,e\n",))]


def test_analyze_prefers_the_delimiter_that_maps_most_columns():
    layout = analyze(["Name;Email;Phone, mobile\n", "A;a@example.com;1\n"])
    assert layout.delimiter == ";"
    assert [c.role for c in layout.columns] == ["display", "email", "phone"]
