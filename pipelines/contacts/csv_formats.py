"""CSV contact exports: LinkedIn Connections.csv, Google, Outlook, Thunderbird and generic CSV.

All CSV flavours go through one engine: find the delimiter and the header row (skipping LinkedIn's "Notes:"
preamble), map each header to a role (given name, email, phone, company ...) through a table of the column
names the exporters write plus common English synonyms, then turn each data row into a `ParsedContact`.
Files without a header row are read in Thunderbird's fixed export order when they are that wide, else by
looking at the values (emails, phones, URLs, names).

Records are assembled from physical lines here rather than by `csv.reader` alone so that a record's first line
number is known, a runaway quote cannot swallow the rest of the file (the record is cut after MAX_RECORD_LINES
lines or MAX_RECORD_CHARS characters, reported, and reading resumes on the next line), and memory stays bounded.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from pipelines.contacts.normalize import (
    birthday_from_parts,
    canonical_linkedin_url,
    is_profile_url,
    iso_birthday,
    parse_date,
)
from pipelines.contacts.records import MAX_LINE_CHARS, NotAContactFile, OverlongLine, ParsedContact, RowError

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
MAX_RECORD_LINES = 1000
MAX_RECORD_CHARS = 256 * 1024
#: How many non-blank records at the top of a file may precede the header (LinkedIn's preamble has 2-3).
HEADER_SEARCH_RECORDS = 10
#: Rows looked at to choose a delimiter and to read header-less files.
SAMPLE_RECORDS = 50

#: Thunderbird's CSV export columns, in order: used for files without a header row that are this wide.
THUNDERBIRD_COLUMNS: tuple[str, ...] = (
    "First Name", "Last Name", "Display Name", "Nickname", "Primary Email", "Secondary Email", "Work Phone",
    "Home Phone", "Fax Number", "Pager Number", "Mobile Number", "Home Address", "Home Address 2", "Home City",
    "Home State", "Home ZipCode", "Home Country", "Work Address", "Work Address 2", "Work City", "Work State",
    "Work ZipCode", "Work Country", "Job Title", "Department", "Organization", "Web Page 1", "Web Page 2",
    "Birth Year", "Birth Month", "Birth Day", "Custom 1", "Custom 2", "Custom 3", "Custom 4", "Notes",
    "Screen Name",
)  # fmt: skip
_THUNDERBIRD_HEADERLESS_MIN_WIDTH = 30

# --- header names -> roles -------------------------------------------------------------------------------

NAME_ROLES = frozenset({"display", "given", "middle", "family", "nickname"})
KEY_ROLES = NAME_ROLES | {"email", "phone"}
MULTI_ROLES = frozenset({"email", "phone", "url"})

# Exact (normalized) header names. Phonetic/Yomi variants, prefixes and suffixes are deliberately absent.
_EXACT: dict[str, tuple[str, int]] = {}
for _role, _rank, _names in (
    ("given", 0, "first name|firstname|first|given name|givenname|given|forename|fname|first names"),
    ("middle", 0, "middle name|middlename|middle|additional name|middle names|middle initial"),
    ("family", 0, "last name|lastname|last|family name|familyname|surname|lname|family"),
    ("display", 0, "display name|displayname|full name|fullname|formatted name|contact name"),
    ("display", 1, "name|contact|person"),
    ("nickname", 0, "nickname|nick name|nick"),
    ("company", 0, "company|company name|organization|organisation|organization name|organisation name|org"),
    ("company", 1, "business|employer|firm|current company|account name"),
    ("title", 0, "job title|jobtitle|position|organization title|organisation title|job|designation|role"),
    ("title", 5, "occupation|profession"),
    ("title?", 0, "title"),  # job title in generic files, honorific (Mr/Dr) in Outlook and next to "Job Title"
    ("department", 0, "department|dept|organization department|organisation department|division"),
    ("location", 0, "location|locality|hometown"),
    ("url", 0, "url|website|web site|web page|webpage|homepage|home page|web|blog|site|personal website"),
    ("url", 0, "website blog|website home page|website other|website profile|website work|business home page"),
    ("url", 0, "linkedin|linkedin url|linkedin profile|linkedin profile url|profile url|profile|linkedin link"),
    ("birthday", 0, "birthday|birth date|birthdate|date of birth|dob|bday|born"),
    ("birth_year", 0, "birth year"),
    ("birth_month", 0, "birth month"),
    ("birth_day", 0, "birth day"),
    ("connected_on", 0, "connected on|connected|connection date|connected at|date connected"),
    ("notes", 0, "notes|note|comments|comment|additional info|additional information|remarks|memo"),
):
    for _name in _names.split("|"):
        _EXACT.setdefault(_name, (_role, _rank))

# Numbered columns (Google "E-mail 2 - Value", Outlook "E-mail 2 Address", Thunderbird "Web Page 2").
_NUMBERED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^email (\d+) value$"), "email"),
    (re.compile(r"^email (\d+) address$"), "email"),
    (re.compile(r"^phone (\d+) value$"), "phone"),
    (re.compile(r"^organi[sz]ation (\d+) name$"), "company"),
    (re.compile(r"^organi[sz]ation (\d+) title$"), "title"),
    (re.compile(r"^organi[sz]ation (\d+) department$"), "department"),
    (re.compile(r"^website (\d+) value$"), "url"),
    (re.compile(r"^web page (\d+)$"), "url"),
)
_LABEL_OF = re.compile(r"^(email|phone|website) (\d+) (?:value|address)$")
_LOCATION_PART = re.compile(
    r"^(?:(home|work|business|other|office|address (\d+)) )?(city|town|state|region|province|county|country|"
    r"country region)$"
)
_LOCATION_GROUP_RANK = {"work": 1, "business": 1, "office": 1, "": 2, "home": 3, "other": 9}

_EMAIL_WORDS = frozenset({"email", "emails", "mail"})
_PHONE_WORDS = frozenset({"phone", "phones", "mobile", "cell", "cellphone", "tel", "telephone", "handy", "cellular"})
# Columns with these words are not a person's own address/number (types, labels, shared or fax lines).
_NOT_VALUE_WORDS = frozenset(
    {
        "type", "label", "display", "name", "status", "subscription", "opt", "consent", "verified", "domain",
        "format", "fax", "pager", "assistant", "assistants", "main", "callback", "telex", "isdn", "tty", "tdd",
        "radio", "ext", "extension", "code", "country", "count", "date", "sent", "bounced",
    }
)  # fmt: skip
_FAX_LABEL = re.compile(r"fax|pager", re.IGNORECASE)


def normalize_header(cell: str) -> str:
    """Lowercase, 'E-mail'/'e_mail' -> 'email', punctuation to single spaces: 'E-mail 1 - Value' -> 'email 1 value'."""
    text = cell.replace("\ufeff", "").strip().lower()
    text = re.sub(r"e[\s_\-]?mail", "email", text)
    return re.sub(r"[\W_]+", " ", text).strip()


@dataclass(frozen=True)
class Column:
    """One mapped column: its index, role and rank (lower rank wins for single-valued roles)."""

    index: int
    role: str
    rank: int = 0
    group: str = ""  # location group ("work", "home", "address 1"...) for city/region/country parts
    label_index: int | None = None  # column holding this value's type (Google "Phone 1 - Type")


def _role_for(norm: str) -> tuple[str, int, str] | None:
    """(role, rank, group) for a normalized header name, or None if we do not use that column."""
    if norm in _EXACT:
        role, rank = _EXACT[norm]
        return role, rank, ""
    for pattern, role in _NUMBERED:
        if m := pattern.match(norm):
            return role, int(m[1]), ""
    if m := _LOCATION_PART.match(norm):
        group = m[1] or ""
        part = {"town": "city", "state": "region", "province": "region", "county": "region"}.get(m[3], m[3])
        part = "country" if part == "country region" else part
        rank = _LOCATION_GROUP_RANK.get(group, 4 + int(m[2] or 0))
        return f"loc_{part}", rank, group
    words = norm.split()
    if 0 < len(words) <= 4 and not _NOT_VALUE_WORDS.intersection(words):
        if _EMAIL_WORDS.intersection(words):
            return "email", 0, ""
        if _PHONE_WORDS.intersection(words):
            return "phone", 0, ""
    return None


def map_header(cells: Sequence[str], fmt: str | None = None) -> tuple[Column, ...]:
    """Map header cells to roles; `fmt` settles names whose meaning depends on the exporter ("Title")."""
    norms = [normalize_header(c) for c in cells]
    mapped: list[Column] = []
    for index, norm in enumerate(norms):
        found = _role_for(norm)
        if found is None:
            continue
        role, rank, group = found
        label_index = None
        if m := _LABEL_OF.match(norm):
            for label in ("type", "label"):
                name = f"{m[1]} {m[2]} {label}"
                if name in norms:
                    label_index = norms.index(name)
        mapped.append(Column(index, role, rank, group, label_index))
    has_job_title = any(c.role == "title" for c in mapped)
    resolved = []
    for column in mapped:
        if column.role == "title?":
            if has_job_title or fmt == "outlook":
                continue  # an honorific, which we do not keep
            column = Column(column.index, "title", column.rank)
        resolved.append(column)
    return tuple(resolved)


def guess_format(cells: Sequence[str], filename: str | None = None) -> str:
    """Which exporter wrote this header: linkedin, google, outlook, thunderbird, or csv (generic)."""
    names = {normalize_header(c) for c in cells} - {""}
    if "connected on" in names or (
        {"first name", "last name", "position"} <= names
        and len(names) <= 10
        and ("url" in names or "company" in names or (filename or "").lower().startswith("connections"))
    ):
        return "linkedin"
    thunderbird = {
        "primary email", "secondary email", "screen name", "mobile number", "pager number", "fax number",
        "web page 1", "web page 2", "birth year", "birth month", "birth day", "custom 1", "home zipcode",
        "work zipcode",
    }  # fmt: skip
    if "primary email" in names and ("display name" in names or len(names & thunderbird) >= 2):
        return "thunderbird"
    if len(names & thunderbird) >= 4:
        return "thunderbird"
    google_numbered = re.compile(
        r"^(email|phone|website|address|organi[sz]ation|relation|event|im|custom field|external id) \d+ "
        r"(value|type|label|name|title|formatted|department)$"
    )
    if (
        any(google_numbered.match(n) for n in names)
        or {"given name", "family name", "additional name"} <= names
        or {"organization name", "organization title"} <= names
        or {"file as", "labels"} <= names
    ):
        return "google"
    outlook = {"email 2 address", "email 3 address", "mobile phone", "business phone", "home phone", "job title"}
    if "email display name" in names or ("email address" in names and names & outlook):
        return "outlook"
    return "csv"


# --- records ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One CSV record: the line it starts on, its physical lines, and why it cannot be read (if so)."""

    line: int
    lines: tuple[str, ...]
    error: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.lines).rstrip("\r\n")


def _ends_in_quotes(line: str, delimiter: str, in_quotes: bool) -> bool:
    """Whether a quoted field is still open at the end of `line` (csv module rules: quotes open a field only
    at its start, '""' is an escaped quote inside a quoted field)."""
    if '"' not in line:
        return in_quotes
    i, n = 0, len(line)
    at_field_start = not in_quotes
    while i < n:
        if in_quotes:
            j = line.find('"', i)
            if j < 0:
                return True
            if j + 1 < n and line[j + 1] == '"':
                i = j + 2
                continue
            in_quotes = False
            i = j + 1
            at_field_start = False
        if at_field_start and line[i] == '"':
            in_quotes = True
            i += 1
            continue
        k = line.find(delimiter, i)
        if k < 0:
            return False
        i = k + 1
        at_field_start = True
    return in_quotes


def iter_records(lines: Iterable[str], delimiter: str) -> Iterator[Record]:
    """Group physical lines (with their line ends) into CSV records, numbering lines from 1."""
    source = iter(lines)
    pending: deque[tuple[int, str]] = deque()
    lineno = 0

    def next_line() -> tuple[int, str] | None:
        nonlocal lineno
        if pending:
            return pending.popleft()
        text = next(source, None)
        if text is None:
            return None
        lineno += 1
        return lineno, text

    while (item := next_line()) is not None:
        start, first = item
        if isinstance(first, OverlongLine):
            yield Record(start, (first,), f"the line is longer than {MAX_LINE_CHARS:,} characters and was skipped")
            continue
        if len(first) > MAX_RECORD_CHARS:
            yield Record(start, (first,), f"the row is longer than {MAX_RECORD_CHARS:,} characters and was skipped")
            continue
        buffered = [item]
        chars = len(first)
        in_quotes = _ends_in_quotes(first, delimiter, False)
        runaway = False
        while in_quotes:
            more = next_line()
            if more is None:  # end of file inside quotes
                runaway = True
                break
            buffered.append(more)
            chars += len(more[1])
            if isinstance(more[1], OverlongLine) or len(buffered) > MAX_RECORD_LINES or chars > MAX_RECORD_CHARS:
                runaway = True
                break
            in_quotes = _ends_in_quotes(more[1], delimiter, True)
        if runaway:
            yield Record(
                start,
                (first,),
                "a quoted value starts on this line but never ends (an unbalanced '\"'); "
                "fix the quotes in this row and import again",
            )
            pending.extendleft(reversed(buffered[1:]))
            continue
        yield Record(start, tuple(text for _, text in buffered))


def split_record(record: Record, delimiter: str) -> list[str]:
    """The cells of a record (csv module rules); raises csv.Error for unreadable text (e.g. NUL bytes)."""
    reader = csv.reader(record.lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    return next(reader, [])


# --- layout: delimiter, header row, column roles ---------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    """How to read a CSV file: format, delimiter, which record is the header, and the mapped columns."""

    fmt: str
    delimiter: str
    header_index: int | None  # index (over all records, blank ones included) of the header; None if headerless
    columns: tuple[Column, ...]
    width: int | None  # number of header cells; None for header-less files (no width check)
    header: tuple[str, ...] = ()


_EMAIL_VALUE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_PHONE_VALUE = re.compile(r"^(?:tel:)?\+?[\d\s().\-/]{7,}(?:\s*(?:x|ext\.?)\s*\d+)?$", re.IGNORECASE)
_URL_VALUE = re.compile(r"^(?:https?://|www\.)\S+$|^(?:[\w-]+\.)*linkedin\.com/\S+$", re.IGNORECASE)


_DATE_VALUE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")


def _looks_like_phone(value: str) -> bool:
    return (
        bool(_PHONE_VALUE.match(value))
        and sum(ch.isdigit() for ch in value) >= 7
        and not _DATE_VALUE.match(value.strip())
    )


def _kind(value: str) -> str:
    """What a header-less cell holds: email, phone, url or text."""
    if _EMAIL_VALUE.match(value):
        return "email"
    if _looks_like_phone(value):
        return "phone"
    if _URL_VALUE.match(value):
        return "url"
    return "text"


def _is_header(cells: Sequence[str], columns: Sequence[Column]) -> bool:
    """A header row maps at least one column and holds no emails, phones or URLs.

    A one-cell row must map a name, email or phone column: one-cell rows above the header are a preamble
    (LinkedIn's "Notes:" line would otherwise be taken for a header with a single "notes" column).
    """
    if not columns or any(_kind(c.strip()) != "text" for c in cells if c.strip()):
        return False
    filled = sum(1 for c in cells if c.strip())
    return filled > 1 or columns[0].role in KEY_ROLES


def _sample(head_lines: Sequence[str], delimiter: str) -> list[tuple[int, list[str]]]:
    """(record index, cells) of the first SAMPLE_RECORDS non-blank, readable records."""
    rows: list[tuple[int, list[str]]] = []
    for index, record in enumerate(iter_records(head_lines, delimiter)):
        if record.error:
            continue
        try:
            cells = split_record(record, delimiter)
        except csv.Error:
            continue
        if any(c.strip() for c in cells):
            rows.append((index, cells))
            if len(rows) >= SAMPLE_RECORDS:
                break
    return rows


def _infer_columns(rows: Sequence[Sequence[str]]) -> tuple[Column, ...]:
    """Roles for a header-less file from its values: email/phone/URL columns by shape, names from the rest.

    Of the text columns, three where one is the other two joined by a space are display, given and family
    name (Thunderbird's own test file); otherwise one text column is a display name, two are given and
    family name, and with more only the first (display name) is used.
    """
    width = max(len(r) for r in rows)
    kinds: list[str] = []
    for i in range(width):
        values = [r[i].strip() for r in rows if i < len(r) and r[i].strip()]
        counts = {k: 0 for k in ("email", "phone", "url")}
        for v in values:
            k = _kind(v)
            if k in counts:
                counts[k] += 1
        best = max(counts, key=lambda k: counts[k])
        kinds.append("empty" if not values else best if counts[best] * 2 >= len(values) else "text")
    columns = [Column(i, k) for i, k in enumerate(kinds) if k in ("email", "phone", "url")]
    text = [i for i, k in enumerate(kinds) if k == "text"]

    def cell(row: Sequence[str], i: int) -> str:
        return row[i].strip() if i < len(row) else ""

    for a in text:
        for b in text:
            for c in text:
                if len({a, b, c}) < 3:
                    continue
                joined = sum(1 for r in rows if cell(r, a) and cell(r, a) == f"{cell(r, b)} {cell(r, c)}")
                if joined * 2 >= len(rows):
                    columns += [Column(a, "display"), Column(b, "given"), Column(c, "family")]
                    return tuple(sorted(columns, key=lambda col: col.index))
    if len(text) == 2:
        columns += [Column(text[0], "given"), Column(text[1], "family")]
    elif text:
        columns.append(Column(text[0], "display"))
    return tuple(sorted(columns, key=lambda col: col.index))


def analyze(head_lines: Sequence[str], fmt: str | None = None, filename: str | None = None) -> CsvLayout:
    """Choose delimiter, header row, format and column roles from the first lines of a file.

    `fmt` forces the format (else it is guessed from the header). Raises NotAContactFile when no column for a
    name, an email or a phone can be found.
    """
    best: tuple[int, int, CsvLayout] | None = None
    for order, delimiter in enumerate(DELIMITERS):
        for index, cells in _sample(head_lines, delimiter)[:HEADER_SEARCH_RECORDS]:
            guessed = fmt or guess_format(cells, filename)
            columns = map_header(cells, guessed)
            if _is_header(cells, columns):
                layout = CsvLayout(guessed, delimiter, index, columns, len(cells), tuple(cells))
                score = (len(columns), -order)
                if best is None or score > best[:2]:
                    best = (*score, layout)
                break
            if sum(1 for c in cells if c.strip()) > 1:
                break  # a preamble (LinkedIn's "Notes:") is made of one-cell lines; this is data, not a header
    if best is not None:
        layout = best[2]
        if not any(c.role in KEY_ROLES for c in layout.columns):
            raise NotAContactFile(
                "this CSV has no column for a name, an email or a phone (its columns are: "
                + ", ".join(h for h in layout.header if h.strip())[:300]
                + "); add such a column or export the contacts again"
            )
        return layout
    return _headerless_layout(head_lines, fmt)


def _headerless_layout(head_lines: Sequence[str], fmt: str | None) -> CsvLayout:
    """Layout for a file without a header row, or NotAContactFile if its values do not look like contacts."""
    chosen: tuple[int, int, str, list[list[str]]] | None = None
    for order, delimiter in enumerate(DELIMITERS):
        rows = [cells for _, cells in _sample(head_lines, delimiter)]
        # Emails, or phones written with a country code: bare digit runs are too often ids or amounts.
        hits = sum(
            1 for r in rows for c in r if _kind(c.strip()) == "email" or (_kind(c.strip()) == "phone" and "+" in c)
        )
        if hits and (chosen is None or (hits, -order) > chosen[:2]):
            chosen = (hits, -order, delimiter, rows)
    if chosen is None:
        first = next((line.strip() for line in head_lines if line.strip()), "")
        raise NotAContactFile(
            "no column for a name, an email or a phone was recognised in this CSV "
            f"(first line: {first[:200]!r}); add a header row such as 'Name,Email,Phone' or export as vCard"
        )
    _, _, delimiter, rows = chosen
    width = max(len(r) for r in rows)
    if fmt == "thunderbird" or width >= _THUNDERBIRD_HEADERLESS_MIN_WIDTH:
        columns = map_header(THUNDERBIRD_COLUMNS[:width], "thunderbird")
        return CsvLayout("thunderbird", delimiter, None, columns, None, THUNDERBIRD_COLUMNS[:width])
    return CsvLayout(fmt or "csv", delimiter, None, _infer_columns(rows), None)


# --- rows -> ParsedContact --------------------------------------------------------------------------------


def _split_multi(value: str, role: str) -> list[str]:
    """Google puts several values in one cell joined by ' ::: '; emails may also be listed with ';' or ','."""
    parts = [p.strip() for p in value.split(":::")] if ":::" in value else [value]
    if role == "email":
        parts = [q.strip() for p in parts for q in (re.split(r"[;,\s]+", p) if p.count("@") > 1 else [p])]
    return [p for p in parts if p]


def _first(values: dict[str, list[tuple[int, int, str]]], role: str) -> str | None:
    candidates = sorted(values.get(role, ()))
    return candidates[0][2] if candidates else None


def row_to_contact(
    cells: Sequence[str], layout: CsvLayout, line: int, raw: str, max_field_length: int
) -> ParsedContact | RowError | None:
    """One data row as a ParsedContact; a RowError if it cannot be one; None for an all-blank row."""
    if not any(c.strip() for c in cells):
        return None
    if layout.width is not None and len(cells) > layout.width and any(c.strip() for c in cells[layout.width :]):
        delim = "tab" if layout.delimiter == "\t" else repr(layout.delimiter)
        return RowError(
            line,
            f"the row has {len(cells)} fields but the header has {layout.width}: "
            f"a value probably contains an unquoted {delim}; quote it and import again",
            raw,
        )

    def cell(index: int | None) -> str:
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()[:max_field_length].strip()

    single: dict[str, list[tuple[int, int, str]]] = {}
    multi: dict[str, list[str]] = {"email": [], "phone": [], "url": []}
    locations: dict[tuple[int, str], dict[str, str]] = {}
    for column in layout.columns:
        value = cell(column.index)
        if not value:
            continue
        if column.role in MULTI_ROLES:
            if column.role == "phone" and _FAX_LABEL.search(cell(column.label_index)):
                continue
            multi[column.role].extend(_split_multi(value, column.role))
        elif column.role.startswith("loc_"):
            locations.setdefault((column.rank, column.group), {}).setdefault(column.role[4:], value)
        else:
            first_value = value.split(":::")[0].strip() if ":::" in value else value
            single.setdefault(column.role, []).append((column.rank, column.index, first_value))

    location = _first(single, "location")
    if location is None:
        for _, parts in sorted(locations.items()):
            joined = ", ".join(parts[p] for p in ("city", "region", "country") if parts.get(p))
            if joined:
                location = joined
                break

    birthday = iso_birthday(_first(single, "birthday"))
    if birthday is None and _first(single, "birth_month"):
        birthday = birthday_from_parts(
            _first(single, "birth_year"), _first(single, "birth_month"), _first(single, "birth_day")
        )
    connected = _first(single, "connected_on")
    connected_on: date | None = parse_date(connected) if connected else None

    profile_urls: list[str] = []
    urls: list[str] = []
    for url in multi["url"]:
        (profile_urls if is_profile_url(url) else urls).append(url)
    external_key = None
    if layout.fmt == "linkedin" and profile_urls:
        external_key = canonical_linkedin_url(profile_urls[0]) or profile_urls[0]

    contact = ParsedContact(
        line=line,
        external_key=external_key,
        display_name=_first(single, "display"),
        given_name=_first(single, "given"),
        middle_name=_first(single, "middle"),
        family_name=_first(single, "family"),
        nickname=_first(single, "nickname"),
        emails=tuple(dict.fromkeys(multi["email"])),
        phones=tuple(dict.fromkeys(multi["phone"])),
        company=_first(single, "company"),
        title=_first(single, "title"),
        department=_first(single, "department"),
        location=location,
        profile_urls=tuple(dict.fromkeys(profile_urls)),
        urls=tuple(dict.fromkeys(urls)),
        birthday=birthday,
        connected_on=connected_on,
        notes=_first(single, "notes"),
    )
    if not contact.has_identity():
        return RowError(line, "no name, email or phone", raw)
    return contact


def parse_csv_lines(
    lines: Iterable[str], layout: CsvLayout, *, max_field_length: int = 1000
) -> Iterator[ParsedContact | RowError]:
    """Stream a CSV file's physical lines (line ends kept) into contacts and row errors, using `layout`.

    Records before and including the header (e.g. LinkedIn's "Notes:" preamble) are skipped; blank rows are
    skipped silently.
    """
    first_data = 0 if layout.header_index is None else layout.header_index + 1
    for index, record in enumerate(iter_records(lines, layout.delimiter)):
        if index < first_data:
            continue
        raw = record.text
        if record.error:
            yield RowError(record.line, record.error, raw)
            continue
        if "\x00" in raw:
            yield RowError(record.line, "the row contains NUL characters (binary data?) and cannot be read", raw)
            continue
        try:
            cells = split_record(record, layout.delimiter)
        except csv.Error as exc:
            yield RowError(record.line, f"the row cannot be read as CSV: {exc}", raw)
            continue
        if layout.header and cells == list(layout.header):
            continue  # the header repeated (files concatenated from several exports)
        result = row_to_contact(cells, layout, record.line, raw, max_field_length)
        if result is not None:
            yield result
