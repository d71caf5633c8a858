"""Normalization: turn a `ParsedContact` into a validated `NormalizedContact` (or a `RowError`).

Identity resolution compares emails, phones and LinkedIn profiles across sources and users, so each gets one
canonical spelling here: lowercased emails with an ASCII (IDNA) domain, E.164 phones, and
`https://www.linkedin.com/in/<slug>` profiles. Values that cannot be made canonical are dropped and listed in
`NormalizedContact.dropped` so the user can be told. The helpers are public because the API and the resolver
normalize single values (search boxes, webhooks) the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from pipelines.contacts.records import NormalizedContact, ParsedContact, RowError

_WS = re.compile(r"\s+")
# scheme optional, any subdomain (www, uk, m...), optional port; group 1 is the path without query/fragment.
_LINKEDIN_URL = re.compile(
    r"^(?:https?:)?(?://)?(?:[a-z0-9-]+\.)*linkedin\.com(?::\d+)?(/[^?#]*)?(?:[?#].*)?$", re.IGNORECASE
)
_SLUG = re.compile(r"^[\w.\-~]{2,200}$")
# LinkedIn's opaque member ids (e.g. "ACoAAB1cD2e...") are case-sensitive, unlike vanity slugs.
_OPAQUE_SLUG_PREFIXES = ("ACoAA", "ACwAA")
#: Hosts whose URLs are someone's social profile rather than "a web page" (besides LinkedIn).
SOCIAL_HOSTS = frozenset(
    {"twitter.com", "x.com", "github.com", "facebook.com", "instagram.com", "xing.com", "mastodon.social"}
)
# Apple Contacts writes 1604 for "no year"; some exporters write 0000.
_NO_YEAR = frozenset({0, 1604})


def clean_name(s: str | None) -> str | None:
    """Trim, collapse inner whitespace (including non-breaking spaces) and NFC-normalize; keep case."""
    if s is None:
        return None
    cleaned = _WS.sub(" ", unicodedata.normalize("NFC", s.replace("\x00", ""))).strip()
    return cleaned or None


def clean_text(s: str | None) -> str | None:
    """Trim a free-text value (notes) and unify line ends, keeping its line structure."""
    if s is None:
        return None
    text = unicodedata.normalize("NFC", s.replace("\x00", ""))
    lines = [_WS.sub(" ", line).strip() for line in text.splitlines()]
    cleaned = "\n".join(lines).strip()
    return cleaned or None


def _email(s: str) -> tuple[str | None, str | None]:
    """Return (normalized email, None) or (None, why it is not valid)."""
    value = s.strip()
    if value.lower().startswith("mailto:"):
        value = value[7:].split("?", 1)[0]
    if "<" in value and ">" in value:
        value = parseaddr(value)[1] or value
    value = value.strip().strip("<>").strip()
    if not value:
        return None, "empty"
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return f"{result.local_part}@{result.ascii_domain}".lower(), None


def normalize_email(s: str) -> str | None:
    """Lowercased address with an IDNA (ASCII) domain, validated by email-validator; None if invalid."""
    return _email(s)[0]


def _phone(s: str, region: str | None) -> tuple[str | None, str | None]:
    """Return (E.164 number, None) or (None, why it cannot be made one)."""
    value = s.strip()
    if value.lower().startswith("tel:"):
        value = value[4:]
    if not value:
        return None, "empty"
    if region is None and value.startswith("00"):
        value = "+" + value[2:]
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and not region:
            return None, "no country code and no default region"
        return None, str(exc)
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None, "not a complete phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def normalize_phone(s: str, region: str | None) -> str | None:
    """E.164 form ('+14155550123') using `region` (ISO 3166 alpha-2) for national numbers; None if unusable.

    A number must have a plausible length for its country (phonenumbers' "possible"); numbers that are only
    dialable locally (no area code) are dropped because they cannot identify anyone across sources.
    """
    return _phone(s, region)[0]


def canonical_linkedin_url(s: str) -> str | None:
    """`https://www.linkedin.com/in/<slug>` for any form of a LinkedIn profile URL, else None.

    Handles missing scheme, locale subdomains (uk.linkedin.com), mobile paths (/mwlite/in/...), query strings,
    fragments, trailing slashes and sub-pages (/in/x/details/...), percent-encoding, and the old public form
    /pub/<name>/<a>/<b>/<c>, which LinkedIn redirects to /in/<name>-<c><b><a>. Vanity slugs are lowercased;
    LinkedIn's opaque member ids (ACoAA...) keep their case because they are case-sensitive.
    """
    match = _LINKEDIN_URL.match(s.strip())
    if not match:
        return None
    segments = [unquote(p).strip() for p in (match[1] or "").split("/") if p.strip()]
    lowered = [p.lower() for p in segments]
    slug: str | None = None
    if len(segments) >= 2 and lowered[0] == "in":
        slug = segments[1]
    elif len(segments) >= 3 and lowered[1] == "in":
        slug = segments[2]
    elif len(segments) >= 5 and lowered[0] == "pub" and lowered[1] != "dir":
        slug = f"{segments[1]}-{segments[4]}{segments[3]}{segments[2]}"
    elif len(segments) == 2 and lowered[0] == "pub" and lowered[1] != "dir":
        slug = segments[1]
    if slug is None or not _SLUG.match(slug):
        return None
    if not slug.startswith(_OPAQUE_SLUG_PREFIXES):
        slug = slug.lower()
    return f"https://www.linkedin.com/in/{slug}"


def is_profile_url(s: str) -> bool:
    """True for a person's LinkedIn profile or a page on a known social network (SOCIAL_HOSTS)."""
    if canonical_linkedin_url(s):
        return True
    value = s.strip()
    if "://" not in value:
        value = "https://" + value.lstrip("/")
    try:
        host = (urlsplit(value).hostname or "").lower()
    except ValueError:
        return False
    host = host.removeprefix("www.").removeprefix("m.")
    return host in SOCIAL_HOSTS


def _iso(year: int | None, month: int, day: int) -> str | None:
    """ISO date, or '--MM-DD' without a year; None when the date does not exist."""
    if year in _NO_YEAR:
        year = None
    try:
        date(year or 2000, month, day)  # 2000 is a leap year, so --02-29 is accepted
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:[t ].*)?$")  # value is lowercased first
_NO_YEAR_DATE = re.compile(r"^--(\d{2})-?(\d{2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_DOT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[\s\-/.]+([a-z]{3,9})\.?(?:[\s\-/.,]+(\d{2}|\d{4}))?$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")


def _year(text: str | None) -> int | None:
    """A 2- or 4-digit year; two digits are read as the most recent such year (24 -> 2024, 85 -> 1985)."""
    if not text:
        return None
    year = int(text)
    if len(text) == 2:
        this_year = date.today().year
        year += 2000 if 2000 + year <= this_year else 1900
    return year


def parse_date_parts(s: str) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) from the date spellings contact exports use; None if not a date.

    Understood: 2024-01-15, 20240115, --01-15, --0115, 15 Jan 2024, 15-Jan-24, Jan 15, 2024, January 15,
    1/15/2024 (US month first unless the first number is over 12), 15.01.2024, 2024/01/15.
    """
    value = s.strip().lower()
    if m := _ISO_DATE.match(value):
        return int(m[1]), int(m[2]), int(m[3])
    if m := _NO_YEAR_DATE.match(value):
        return None, int(m[1]), int(m[2])
    if m := _SLASH_DATE.match(value):
        first, second = int(m[1]), int(m[2])
        month, day = (second, first) if first > 12 else (first, second)
        return _year(m[3]), month, day
    if m := _DOT_DATE.match(value):
        return int(m[3]), int(m[2]), int(m[1])
    if m := _YMD_SLASH.match(value):
        return int(m[1]), int(m[2]), int(m[3])
    if (m := _DAY_MONTH_YEAR.match(value)) and m[2] in _MONTHS:
        return _year(m[3]), _MONTHS[m[2]], int(m[1])
    if (m := _MONTH_DAY_YEAR.match(value)) and m[1] in _MONTHS:
        return _year(m[3]), _MONTHS[m[1]], int(m[2])
    return None


def parse_date(s: str) -> date | None:
    """A full date (with year) from the spellings `parse_date_parts` understands; None otherwise."""
    parts = parse_date_parts(s)
    if parts is None or parts[0] is None:
        return None
    try:
        return date(*parts)  # type: ignore[arg-type]
    except ValueError:
        return None


def iso_birthday(s: str | None) -> str | None:
    """'YYYY-MM-DD', or '--MM-DD' when the year is unknown (also Apple's 1604 and 0000); None if unreadable."""
    if not s:
        return None
    parts = parse_date_parts(s)
    if parts is None:
        return None
    return _iso(*parts)


def birthday_from_parts(year: str | None, month: str | None, day: str | None) -> str | None:
    """ISO birthday from separate year/month/day columns (Thunderbird); the year may be empty."""
    try:
        m, d = int(month or ""), int(day or "")
        y = int(year) if year and year.strip() else None
    except ValueError:
        return None
    return _iso(y, m, d)


def _dedupe(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


#: Longest source id kept as is; longer ones (vCard UIDs may be long) are stored as their hash.
MAX_EXTERNAL_KEY = 200


def _identity_key(
    names: tuple[str | None, ...], emails: tuple[str, ...], phones: tuple[str, ...], profile_url: str | None
) -> str:
    """A stable key for a record from a source without its own id.

    The strongest identifier the record has (first email, else first phone, else profile URL) names it, so the
    same person's row keeps its key when their company, title or spelling changes in a later export: that row
    is then updated in place (a job change), not imported as a new contact. Records with only a name are keyed
    by the name.
    """
    if emails:
        return f"email:{sorted(emails)[0]}"
    if phones:
        return f"phone:{sorted(phones)[0]}"
    if profile_url:
        return f"profile:{profile_url}"
    payload = [n.casefold() if n else None for n in names]
    canonical = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return "name:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _bounded_key(key: str) -> str:
    return key if len(key) <= MAX_EXTERNAL_KEY else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _describe(parsed: ParsedContact) -> str:
    """Compact JSON of a parsed record's non-empty fields, for RowError.raw."""
    data = {
        k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
        for k, v in vars(parsed).items()
        if k != "line" and v not in (None, (), "")
    }
    return json.dumps(data, ensure_ascii=False)


def normalize(parsed: ParsedContact, default_region: str | None) -> NormalizedContact | RowError:
    """Validate and canonicalize one parsed contact.

    Invalid emails, phones, URLs and birthdays are dropped (and listed in `dropped`); the contact is kept as
    long as a name, an email or a phone remains. `default_region` (e.g. "US", "GB") is used to read phone
    numbers written without a country code; with None such numbers are dropped.
    """
    dropped: list[str] = []
    display = clean_name(parsed.display_name)
    given = clean_name(parsed.given_name)
    middle = clean_name(parsed.middle_name)
    family = clean_name(parsed.family_name)
    nickname = clean_name(parsed.nickname)

    emails: list[str] = []
    for raw in parsed.emails:
        email, problem = _email(raw)
        if email:
            emails.append(email)
        elif problem != "empty":
            dropped.append(f"invalid email {raw.strip()!r}")

    phones: list[str] = []
    for raw in parsed.phones:
        phone, problem = _phone(raw, default_region)
        if phone:
            phones.append(phone)
        elif problem == "no country code and no default region":
            dropped.append(f"phone {raw.strip()!r} has no country code and no default region is set")
        elif problem != "empty":
            dropped.append(f"invalid phone {raw.strip()!r}")

    profile_url: str | None = None
    urls: list[str] = []
    for raw in (*parsed.profile_urls, *parsed.urls):
        value = raw.strip()
        if not value:
            continue
        canonical = canonical_linkedin_url(value)
        if canonical and profile_url is None:
            profile_url = canonical
        elif canonical == profile_url and canonical is not None:
            continue
        elif _WS.search(value) or "." not in value or "\x00" in value:
            dropped.append(f"invalid URL {value!r}")
        else:
            urls.append(value)

    birthday = iso_birthday(parsed.birthday)
    if parsed.birthday and birthday is None:
        dropped.append(f"unreadable birthday {parsed.birthday!r}")

    emails_t, phones_t = _dedupe(emails), _dedupe(phones)
    names = (display, given, middle, family, nickname)
    if not any(names) and not emails_t and not phones_t:
        reason = "no name, email or phone"
        if dropped:
            reason += " left after dropping " + "; ".join(dropped)
        return RowError(parsed.line, reason, _describe(parsed))

    full_name = clean_name(" ".join(n for n in (given, middle, family) if n))
    display_name = display or full_name or nickname or (emails_t[0] if emails_t else phones_t[0])
    company = clean_name(parsed.company)
    external_key = _bounded_key(
        (parsed.external_key or "").strip()
        or _identity_key((display, given, middle, family), emails_t, phones_t, profile_url)
    )
    return NormalizedContact(
        line=parsed.line,
        external_key=external_key,
        display_name=display_name,
        given_name=given,
        middle_name=middle,
        family_name=family,
        nickname=nickname,
        company=company,
        title=clean_name(parsed.title),
        department=clean_name(parsed.department),
        location=clean_name(parsed.location),
        notes=clean_text(parsed.notes),
        birthday=birthday,
        emails=emails_t,
        phones=phones_t,
        profile_url=profile_url,
        urls=_dedupe(urls),
        connected_on=parsed.connected_on,
        dropped=tuple(dropped),
    )
