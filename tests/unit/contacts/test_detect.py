"""Format and encoding detection from the head of a file."""

import codecs

import pytest

from pipelines.contacts.detect import HEAD_BYTES, decode_head, detect_format, sniff_encoding
from pipelines.contacts.records import NotAContactFile

LINKEDIN = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are missing."\n'
    "\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    "Ada,Lovelace,https://www.linkedin.com/in/ada,,Engines,Analyst,01 Jul 2024\n"
)


@pytest.mark.parametrize(
    ("text", "filename", "expected"),
    [
        (LINKEDIN, "Connections.csv", "linkedin"),
        (LINKEDIN.split("\n\n", 1)[1], "export.csv", "linkedin"),  # no preamble
        (
            "First Name,Last Name,Email Address,Company,Position,Connected On,URL\nA,B,,C,D,15-Jan-24,\n",
            None,
            "linkedin",
        ),
        ("First Name,Last Name,Email Address,Company,Position,Connected On\nA,B,,C,D,15-Jan-24\n", None, "linkedin"),
        (
            "Name,Given Name,Additional Name,Family Name,E-mail 1 - Type,E-mail 1 - Value\nA B,A,,B,Home,a@x.com\n",
            None,
            "google",
        ),
        (
            "First Name,Middle Name,Last Name,Organization Name,Organization Title,E-mail 1 - Label,E-mail 1 - Value\n"
            "A,,B,Acme,CEO,Work,a@x.com\n",
            None,
            "google",
        ),
        (
            "First Name,Last Name,E-mail Address,E-mail 2 Address,Mobile Phone,Company\nA,B,a@x.com,,,\n",
            None,
            "outlook",
        ),
        (
            "First Name,Last Name,Display Name,Nickname,Primary Email,Secondary Email\nA,B,A B,,a@x.com,\n",
            None,
            "thunderbird",
        ),
        ("First Name;Last Name;Display Name;Primary Email;Secondary Email\nA;B;A B;a@x.com;\n", None, "thunderbird"),
        ("Name,Email,Phone\nAda,ada@example.com,+14155550123\n", "contacts.csv", "csv"),
        ("Full Name\tContact Email\tMobile\nAda\tada@example.com\t\n", None, "csv"),
        ("Ada Lovelace,Ada,Lovelace,ada@example.com\n", None, "csv"),  # no header: values say what they are
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD\r\n", "ada.vcf", "vcard"),
        ("\r\n\r\nbegin:vcard\nfn:Ada\nend:vcard\n", None, "vcard"),
        ("VERSION:3.0\nFN:Ada\nEND:VCARD\n", "broken.vcf", "vcard"),  # END without BEGIN: still a vCard file
    ],
)
def test_detects_formats(text, filename, expected):
    assert detect_format(text.encode("utf-8"), filename) == expected


@pytest.mark.parametrize(
    ("head", "filename", "fragment"),
    [
        (b"", "x.csv", "empty"),
        (b"   \r\n\r\n", "x.csv", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "contacts.xlsx", "ZIP archive"),
        (b"%PDF-1.7\n", "x.pdf", "PDF"),
        (b"\x89PNG\r\n\x1a\n", "x.png", "image"),
        (bytes(range(256)) * 4, "x.bin", "binary"),
        (b'[{"name": "Ada", "email": "ada@example.com"}]', "contacts.json", "JSON"),
        (b'{"contacts": []}', None, "JSON"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "Connections.csv", "HTML"),
        (b"dn: cn=Ada\ncn: Ada\nmail: ada@example.com\n", "book.ldif", "LDIF"),
        (b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "cal.ics", "calendar"),
        (b"id,amount,date\n1,9.99,2024-01-01\n2,5.00,2024-01-02\n", "orders.csv", "no column for a name"),
        (b"Company,Industry\nAcme,Rockets\n", "companies.csv", "no column for a name, an email or a phone"),
        (b"FN:Ada\nEMAIL:ada@example.com\n", "ada.vcf", "no BEGIN:VCARD"),
    ],
)
def test_refuses_files_that_are_not_contacts(head, filename, fragment):
    with pytest.raises(NotAContactFile) as excinfo:
        detect_format(head, filename)
    assert fragment in excinfo.value.reason
    assert isinstance(excinfo.value, ValueError)


def test_refusal_lists_the_columns_found():
    with pytest.raises(NotAContactFile) as excinfo:
        detect_format(b"Company,Industry\nAcme,Rockets\n", None)
    assert "Company, Industry" in excinfo.value.reason


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + b"Name\n", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "Name\n".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "Name\n".encode("utf-16-be"), "utf-16"),
        ("Name,Email\nAda,ada@example.com\n".encode("utf-16-le"), "utf-16-le"),
        ("Name,Email\nAda,ada@example.com\n".encode("utf-16-be"), "utf-16-be"),
        (b"Name,Email\n", "utf-8"),
        ("Zoë".encode("cp1252"), "utf-8"),  # read as UTF-8 with the CP1252 fallback
    ],
)
def test_sniff_encoding(data, expected):
    assert sniff_encoding(data) == expected


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-16", "utf-8-sig", "cp1252"])
def test_detects_csv_in_every_encoding(encoding):
    data = "First Name,Last Name,Primary Email,Display Name\nZoë,Müller,z@example.com,Zoë M\n".encode(encoding)
    assert detect_format(data, None) == "thunderbird"


def test_cp1252_bytes_decode_through_the_fallback():
    head = "Name,Email\nZoë Ñandú \u2013 ok,z@example.com\n".encode("cp1252")
    lines = decode_head(head, sniff_encoding(head), complete=True)
    assert lines[1] == "Zoë Ñandú \u2013 ok,z@example.com\n"


def test_only_the_head_is_needed():
    header = b"Name,Email\n"
    body = b"Ada Lovelace,ada@example.com\n" * (3 * HEAD_BYTES // 29)
    data = header + body
    assert len(data) > 2 * HEAD_BYTES
    assert detect_format(data[:HEAD_BYTES], "big.csv") == "csv"
    assert detect_format(data, "big.csv") == "csv"  # longer input is cut to HEAD_BYTES


def test_cut_head_drops_the_partial_last_line():
    lines = decode_head(b"Name,Email\nAda,ada@exa", "utf-8", complete=False)
    assert lines == ["Name,Email\n"]
