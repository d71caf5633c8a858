"""vCard 2.1 / 3.0 / 4.0 files (phones, Apple/Google/Outlook/Evolution/Thunderbird address books).

The file is cut into cards here, line by line, so memory holds one card at a time and a broken card becomes a
RowError while the cards after it still parse. Within a card, vobject does the low-level work: unfolding,
quoted-printable soft line breaks (`getLogicalLines`) and splitting a line into group, name, parameters and
value (`parseLine`). Values are decoded here rather than by vobject's behaviours, which keep only the text
before the first unescaped comma ("FN:Doe, John" would become "Doe") and fail on quoted-printable text whose
CHARSET is missing or wrong, as it often is in vCard 2.1 exports.

Photos, logos, sounds and keys are skipped before parsing and never stored. Cards without BEGIN:VCARD or
END:VCARD, lines that are not properties, and properties we use that cannot be decoded make the card a
RowError.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import quopri
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from vobject.base import VObjectError, getLogicalLines, parseLine

from pipelines.contacts.detect import FALLBACK_ERRORS
from pipelines.contacts.normalize import is_profile_url, iso_birthday
from pipelines.contacts.records import MAX_LINE_CHARS, OverlongLine, ParsedContact, RowError

#: Largest card kept (characters, photos excluded); a bigger card is a RowError.
MAX_CARD_CHARS = 1024 * 1024

_BEGIN = re.compile(r"^\s*BEGIN\s*:\s*VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*END\s*:\s*VCARD\s*$", re.IGNORECASE)
_PROPERTY = re.compile(r"^(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)[;:]")
_BINARY = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_USED = frozenset(
    {
        "FN", "N", "NICKNAME", "EMAIL", "TEL", "ORG", "TITLE", "ROLE", "ADR", "URL", "BDAY", "UID", "NOTE",
        "X-ABLABEL", "X-SOCIALPROFILE", "SOCIALPROFILE",
    }
)  # fmt: skip
_NOT_PERSONAL_TEL = frozenset({"fax", "pager"})
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


@dataclass
class _Card:
    """A card being collected: its BEGIN line and the (line number, text) of its lines, photos left out."""

    start: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    chars: int = 0
    problem: str | None = None
    skipping_binary: bool = False
    last_property: str = ""
    last_value_empty: bool = False
    nested: int = 0

    def raw(self) -> str:
        body = "\n".join(text for _, text in self.lines[:40])
        return f"BEGIN:VCARD\n{body}"


def _unescape(value: str) -> str:
    """vCard text unescaping: \\n -> newline, \\, \\; \\: \\\\ -> the character."""
    if "\\" not in value:
        return value
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _split(value: str, separator: str) -> list[str]:
    """Split on unescaped `separator` (';' for N/ADR/ORG components, ',' for lists), then unescape."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return [_unescape(p).strip() for p in parts]


def _is_qp(param: list[str]) -> bool:
    """Whether a parsed parameter is ENCODING=QUOTED-PRINTABLE (or 2.1's bare QUOTED-PRINTABLE)."""
    values = [v.upper() for v in param]
    return values == ["QUOTED-PRINTABLE"] or (values[0] == "ENCODING" and "QUOTED-PRINTABLE" in values[1:])


@dataclass(frozen=True)
class _Property:
    """One decoded content line: what vobject's ContentLine holds, without its per-attribute overhead."""

    name: str  # upper case
    group: str | None
    params: dict[str, list[str]]  # upper-case keys
    singletonparams: list[str]  # vCard 2.1 bare parameters (WORK, FAX, QUOTED-PRINTABLE...)
    value: str


def _content_line(logical: str, lineno: int) -> _Property:
    """vobject's parse of one logical line (`parseLine`), with quoted-printable decoded here.

    vobject decodes quoted-printable as the CHARSET (UTF-8 if none) and fails on anything else; real 2.1
    files often leave CHARSET out for Latin-1 text or carry a stray byte, so undecodable bytes fall back to
    CP1252 like the rest of the file.
    """
    name, params, value, group = parseLine(logical, lineno)
    if any(_is_qp(p) for p in params):
        params = [p for p in params if not _is_qp(p)]
        charset = next((p[1] for p in params if p[0].upper() == "CHARSET" and len(p) > 1), "utf-8")
        data = quopri.decodestring(value.encode("utf-8"))
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = "utf-8"
        try:
            value = data.decode(charset)
        except UnicodeDecodeError:
            value = data.decode("utf-8", errors=FALLBACK_ERRORS)
    table: dict[str, list[str]] = {}
    singletons: list[str] = []
    for param in params:
        if len(param) == 1:
            singletons.append(param[0])
        else:
            table.setdefault(param[0].upper(), []).extend(param[1:])
    return _Property(name.upper(), group, table, singletons, value)


def _types(line: _Property) -> set[str]:
    """TYPE values in every spelling: TYPE=work,fax / TYPE="work,fax" / 2.1 bare WORK;FAX / PREF=1."""
    out: set[str] = set()
    for value in [*line.params.get("TYPE", []), *line.singletonparams]:
        out.update(t.strip().lower() for t in value.split(",") if t.strip())
    if line.params.get("PREF"):
        out.add("pref")
    return out


def _text(line: _Property) -> str | None:
    """The decoded value of a line, or None if it is base64 that is not text."""
    value = line.value
    encoding = [e.upper() for e in line.params.get("ENCODING", [])]
    if "B" in encoding or "BASE64" in encoding or "BASE64" in (s.upper() for s in line.singletonparams):
        charset = (line.params.get("CHARSET") or ["utf-8"])[0]
        try:
            return base64.b64decode(value).decode(charset)
        except (binascii.Error, LookupError, UnicodeDecodeError, ValueError):
            return None
    return value


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()[:limit].strip()
    return value or None


def _card_to_contact(card: _Card, max_field_length: int) -> ParsedContact | RowError:
    """Decode one collected card."""
    raw = card.raw()
    if card.problem:
        return RowError(card.start, card.problem, raw)
    numbers = [n for n, _ in card.lines]
    text = "\n".join(t for _, t in card.lines)
    if "\x00" in text:
        return RowError(card.start, "the card contains NUL characters (binary data?) and cannot be read", raw)
    props: list[_Property] = []
    for logical, n in getLogicalLines(io.StringIO(text), allowQP=True):
        lineno = numbers[n - 1] if 0 < n <= len(numbers) else card.start + 1
        match = _PROPERTY.match(logical)
        if not match:
            return RowError(
                card.start,
                f"line {lineno} is not a vCard property ('NAME:value'): {logical[:80]!r}; "
                "the card may be cut off or badly folded",
                raw,
            )
        name = match[2].upper()
        if name not in _USED:
            continue
        try:
            props.append(_content_line(logical, n))
        except (VObjectError, LookupError, UnicodeError, ValueError) as exc:
            return RowError(card.start, f"cannot read the {name} property on line {lineno}: {exc}", raw)
    return _contact_from(card.start, props, max_field_length, raw)


def _contact_from(start: int, props: list[_Property], limit: int, raw: str) -> ParsedContact | RowError:
    """Map decoded properties to a ParsedContact."""
    labels: dict[str, str] = {}
    for p in props:
        if p.name == "X-ABLABEL" and p.group:
            label = _unescape(p.value).strip()
            labels[p.group.lower()] = (m[1] if (m := _APPLE_LABEL.match(label)) else label).lower()

    def first(name: str) -> _Property | None:
        return next((p for p in props if p.name == name and (_text(p) or "").strip()), None)

    display_name = given = middle = family = nickname = None
    if fn := first("FN"):
        display_name = _clip(_unescape(_text(fn) or ""), limit)
    if n := first("N"):
        parts = [" ".join(x for x in _split(component, ",") if x) for component in _split(_text(n) or "", ";")]
        parts += [""] * (3 - len(parts))
        family, given, middle = (_clip(x, limit) for x in parts[:3])
    if nick := first("NICKNAME"):
        nickname = _clip(next((x for x in _split(_text(nick) or "", ",") if x), None), limit)

    emails: list[str] = []
    phones: list[str] = []
    urls: list[str] = []
    profile_urls: list[str] = []
    notes: list[str] = []
    for p in props:
        value = _text(p)
        if value is None:
            continue
        label = labels.get((p.group or "").lower(), "")
        if p.name == "EMAIL":
            email = _clip(_unescape(value), limit)
            if email:
                emails.append(email.removeprefix("mailto:").removeprefix("MAILTO:"))
        elif p.name == "TEL":
            if _types(p) & _NOT_PERSONAL_TEL or "fax" in label or "pager" in label:
                continue
            tel = _unescape(value).strip()
            if tel.lower().startswith("tel:"):
                tel = tel[4:]
            tel = re.sub(r";ext=", " ext. ", tel, flags=re.IGNORECASE).split(";", 1)[0]
            if clipped := _clip(tel, limit):
                phones.append(clipped)
        elif p.name in ("URL", "X-SOCIALPROFILE", "SOCIALPROFILE"):
            url = _clip(_unescape(value), limit)
            if not url:
                continue
            if is_profile_url(url) or (p.name == "URL" and "linkedin" in label):
                profile_urls.append(url)
            elif p.name == "URL":
                urls.append(url)
            elif "://" in url:
                profile_urls.append(url)  # a social profile on a network we do not list (skype ids are not URLs)
        elif p.name == "NOTE" and (note := _unescape(value).strip()):
            notes.append(note)

    company = department = None
    if org := first("ORG"):
        parts = [x for x in _split(_text(org) or "", ";")]
        company = _clip(parts[0], limit) if parts else None
        department = _clip(", ".join(x for x in parts[1:] if x), limit)
    title_line = first("TITLE") or first("ROLE")
    title = _clip(_unescape(_text(title_line) or ""), limit) if title_line else None

    location = None
    addresses = [p for p in props if p.name == "ADR" and (_text(p) or "").strip(" ;")]
    if addresses:
        chosen = next((a for a in addresses if "pref" in _types(a)), None)
        chosen = chosen or next((a for a in addresses if "work" in _types(a)), addresses[0])
        parts = _split(_text(chosen) or "", ";") + [""] * 7
        location = _clip(", ".join(x for x in (parts[3], parts[4], parts[6]) if x), limit)

    birthday = None
    if (bday := first("BDAY")) and (bday.params.get("VALUE") or ["date"])[0].lower() != "text":
        birthday = iso_birthday(_unescape(_text(bday) or ""))
        omit = bday.params.get("X-APPLE-OMIT-YEAR")
        if birthday and omit and birthday[:4] == omit[0][:4]:
            birthday = "--" + birthday[5:]

    uid = first("UID")
    contact = ParsedContact(
        line=start,
        external_key=_clip(_unescape(_text(uid) or ""), limit) if uid else None,
        display_name=display_name,
        given_name=given,
        middle_name=middle,
        family_name=family,
        nickname=nickname,
        emails=tuple(dict.fromkeys(emails)),
        phones=tuple(dict.fromkeys(phones)),
        company=company,
        title=title,
        department=department,
        location=location,
        profile_urls=tuple(dict.fromkeys(profile_urls)),
        urls=tuple(dict.fromkeys(urls)),
        birthday=birthday,
        notes=_clip("\n".join(notes), limit),
    )
    if not contact.has_identity():
        return RowError(start, "no name, email or phone", raw)
    return contact


def parse_vcard_lines(lines: Iterable[str], *, max_field_length: int = 1000) -> Iterator[ParsedContact | RowError]:
    """Stream the physical lines of a .vcf file (line ends optional) into contacts and row errors."""
    card: _Card | None = None
    stray_start = 0
    stray: list[str] = []

    def flush_stray() -> Iterator[RowError]:
        if stray:
            text = "\n".join(stray)
            if any(_END.match(s) for s in stray):
                reason = "a card without its BEGIN:VCARD line cannot be read"
            else:
                reason = "text outside BEGIN:VCARD ... END:VCARD was ignored"
            yield RowError(stray_start, reason, text)
            stray.clear()

    lineno = 0
    for raw_line in lines:
        lineno += 1
        text = raw_line.rstrip("\r\n")
        if lineno == 1:
            text = text.lstrip("\ufeff")
        if card is None:
            if _BEGIN.match(text):
                yield from flush_stray()
                card = _Card(lineno)
            elif text.strip() and sum(len(s) for s in stray) < 1000:
                if not stray:
                    stray_start = lineno
                stray.append(text[:1000])
            continue

        overlong = isinstance(raw_line, OverlongLine)
        if card.nested:
            card.nested += 1 if _BEGIN.match(text) else -1 if _END.match(text) else 0
            continue
        if _END.match(text):
            yield _card_to_contact(card, max_field_length)
            card = None
            continue
        if _BEGIN.match(text):
            if card.last_property == "AGENT" and card.last_value_empty:
                card.nested = 1  # vCard 2.1 embeds the agent's card after an empty AGENT: line
                continue
            yield RowError(card.start, "the card has no END:VCARD line (the file may be cut off)", card.raw())
            card = _Card(lineno)
            continue
        continuation = text[:1] in (" ", "\t")
        if card.skipping_binary:
            if continuation or not text.strip() or overlong or not _PROPERTY.match(text):
                continue
            card.skipping_binary = False
        if not continuation and (match := _PROPERTY.match(text)):
            card.last_property = match[2].upper()
            card.last_value_empty = text.split(":", 1)[-1].strip() == "" if ":" in text else False
            if card.last_property in _BINARY:
                card.skipping_binary = True
                continue
        if overlong:
            card.problem = card.problem or f"line {lineno} is longer than {MAX_LINE_CHARS:,} characters"
            continue
        card.chars += len(text)
        if card.chars > MAX_CARD_CHARS:
            card.problem = card.problem or f"the card is larger than {MAX_CARD_CHARS:,} characters (photos excluded)"
            card.lines.clear()
            continue
        if not card.problem:
            card.lines.append((lineno, text))
    if card is not None:
        yield RowError(card.start, "the card has no END:VCARD line (the file may be cut off)", card.raw())
    yield from flush_stray()
