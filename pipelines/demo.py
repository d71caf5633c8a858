"""A demo account with a generated personal network, so a newcomer sees the product working at once.

`sixdeg serve --demo` (and `sixdeg demo`) call `seed_demo` on an empty database. The network is generated from a
seed with Faker (the same seed gives the same people, files and rows) and written as the files people really
import: a LinkedIn Connections.csv, a Google Contacts CSV and a phone's vCard export. They go through the real
import pipeline (`importer.request_import`, then the import actor's steps run inline), so merges, merge
suggestions, connections and their strengths are made exactly as for real data. At the end every person is
projected with the projection actor's own step (the search index; the Neo4j graph when one is configured), so
people are searchable as soon as the server starts.

The demo user's network overlaps on purpose:

- the same person in two or three sources with the same email, phone or LinkedIn profile URL (one person);
- "bridges": a vCard with only a phone and a LinkedIn row with only a profile URL make two people, and a
  Google row carrying both keys merges them (merges to look at and undo);
- split records: a LinkedIn row and a Google row of the same name and company with no key in common (merge
  suggestions);
- four other users (@demo.sixdeg.example) who share their networks (`sharing = network`): a colleague the demo
  user knows (people at 2 hops), someone the colleague knows (3 hops), someone they know (4 hops), and a user
  who shares contacts with the demo user without being one of them.

Seeding refuses a database that holds real users: a demo must never mix with somebody's data.
"""

from __future__ import annotations

import csv
import io
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from anyascii import anyascii
from faker import Faker
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, aliased

from pipelines import accounts, projections
from pipelines.config import Config
from pipelines.contacts import importer
from pipelines.db import get_engine, unit_of_work
from pipelines.migrate import migrate_on_boot
from pipelines.models import Contact, Import, ImportStatus, Merge, MergeSuggestion, Person, Sharing, User

DEMO_EMAIL = "demo@sixdeg.example"
#: Meets `accounts.check_password_policy` (at least 10 characters). Every demo user has it.
DEMO_PASSWORD = "explore-my-network"
#: The generated other users live under this domain; a user elsewhere (except DEMO_EMAIL) is a real user.
DEMO_DOMAIN = "demo.sixdeg.example"
#: Phones in the files are partly written without a country code, as phones export them.
DEMO_REGION = "US"

#: Progress callback: (steps done, steps in all, what is being done).
Progress = Callable[[int, int, str], None]


class DemoRefused(Exception):
    """The database holds real users: seeding a demo into it would mix generated people with real ones."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds (all of it is demo data)."""

    users: int
    contacts: int
    people: int
    merges: int
    suggestions: int
    #: True when this call generated the data; False when it was already there.
    seeded: bool = False
    seconds: float = 0.0


def is_demo_email(email: str) -> bool:
    """True for the demo user and the generated other users."""
    email = email.lower()
    return email == DEMO_EMAIL or email.endswith("@" + DEMO_DOMAIN)


def demo_refusal(config: Config) -> str | None:
    """Why the demo may not be seeded into this database, or None when it may (empty, or demo users only)."""
    engine = get_engine(config)
    if not inspect(engine).has_table("users"):
        return None  # not migrated yet: certainly empty
    with unit_of_work(config) as session:
        real = [e for e in session.scalars(select(User.email)) if not is_demo_email(e)]
    if not real:
        return None
    return (
        f"the database already holds real users ({len(real)}); run `sixdeg serve` without --demo, or point "
        "SIXDEG_DATA_DIR/SIXDEG_DATABASE_URL at an empty database"
    )


def demo_eligible(config: Config) -> bool:
    """True when the database is empty or holds only demo users (so `serve --demo` may run on it)."""
    return demo_refusal(config) is None


# --- the generated world (pure: plain data in, plain data out) -------------------------------------------------


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str
    locale: str  # Faker locale for the names of people living there
    phone_zone: str  # "nanp" (+1 555-01xx numbers) or "uk" (+44 7700 900xxx): ranges reserved for fiction

    @property
    def text(self) -> str:
        """As the importer stores a location: "City, Region, Country"."""
        return ", ".join(x for x in (self.city, self.region, self.country) if x)


PLACES: tuple[Place, ...] = (
    Place("San Francisco", "CA", "USA", "en_US", "nanp"),
    Place("New York", "NY", "USA", "en_US", "nanp"),
    Place("Seattle", "WA", "USA", "en_US", "nanp"),
    Place("Austin", "TX", "USA", "en_US", "nanp"),
    Place("Boston", "MA", "USA", "en_US", "nanp"),
    Place("Chicago", "IL", "USA", "en_US", "nanp"),
    Place("Toronto", "ON", "Canada", "en_CA", "nanp"),
    Place("London", "", "United Kingdom", "en_GB", "uk"),
    Place("Manchester", "", "United Kingdom", "en_GB", "uk"),
    Place("Berlin", "", "Germany", "de_DE", "uk"),
    Place("Munich", "", "Germany", "de_DE", "uk"),
    Place("Amsterdam", "", "Netherlands", "nl_NL", "uk"),
    Place("Paris", "", "France", "fr_FR", "uk"),
    Place("Lisbon", "", "Portugal", "pt_PT", "uk"),
    Place("Madrid", "", "Spain", "es_ES", "uk"),
)
PLACE_WEIGHTS = (14, 12, 8, 6, 6, 5, 5, 10, 3, 7, 3, 4, 4, 3, 3)
AREA_CODES = ("415", "212", "206", "512", "617", "312", "416", "646", "510", "737", "857", "773")

#: (title, weight): many individual contributors, fewer managers, a few executives.
TITLES: tuple[tuple[str, int], ...] = (
    ("Software Engineer", 14), ("Senior Software Engineer", 12), ("Staff Engineer", 4), ("Engineering Manager", 5),
    ("Data Scientist", 5), ("Data Engineer", 4), ("Machine Learning Engineer", 3), ("Site Reliability Engineer", 3),
    ("Product Manager", 7), ("Senior Product Manager", 3), ("Product Designer", 4), ("UX Researcher", 2),
    ("Account Executive", 5), ("Sales Director", 2), ("Customer Success Manager", 4), ("Solutions Architect", 3),
    ("Marketing Manager", 4), ("Content Strategist", 2), ("Recruiter", 3), ("Head of People", 1),
    ("Financial Analyst", 3), ("Controller", 1), ("Legal Counsel", 1), ("Operations Manager", 3),
    ("Business Development Manager", 2), ("Director of Engineering", 2), ("VP Engineering", 1), ("VP Sales", 1),
    ("CTO", 1), ("Founder & CEO", 1), ("Chief Operating Officer", 1), ("Investor", 1), ("Consultant", 3),
)  # fmt: skip
PERSONAL_DOMAINS = ("mail.example", "inbox.example", "post.example", "fastmail.example")

COMPANIES = 32
DEMO_COMPANY_RANK = 3  # the demo user and their colleague work at the company of this size rank (0 = biggest)


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    hq: Place
    weight: float


@dataclass
class Human:
    """Someone in the generated world, with every key any source could hold for them."""

    key: int
    given: str
    family: str
    company: Company
    title: str
    place: Place
    work_email: str
    personal_email: str
    phone: str  # international form, "+1 415-555-0123"
    national_phone: str | None  # the same as a US phone writes it, "(415) 555-0123"; None outside +1
    profile_url: str
    connected_on: date

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


@dataclass(frozen=True)
class DemoUser:
    email: str
    human: Human
    sharing: Sharing


@dataclass(frozen=True)
class DemoFile:
    """A contact file as its exporter writes it, imported for `owner`."""

    owner: str
    filename: str
    fmt: str  # importer format: linkedin, google, vcard
    source_name: str
    text: str
    people: int  # rows (records) in the file


@dataclass(frozen=True)
class DemoNetwork:
    """Everything to seed, in order: each user is created, then their files are imported."""

    seed: int
    users: tuple[DemoUser, ...]
    files: tuple[DemoFile, ...]
    humans: tuple[Human, ...] = field(repr=False)

    def files_of(self, email: str) -> list[DemoFile]:
        return [f for f in self.files if f.owner == email]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", anyascii(text).lower()).strip("-")


class _World:
    """Draws companies and people from one seed (random.Random for choices, one seeded Faker per locale)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for index, locale in enumerate(sorted({p.locale for p in PLACES})):
            fake = Faker(locale, providers=["faker.providers.person", "faker.providers.company"])
            fake.seed_instance(seed * 1000 + index)
            self.fakers[locale] = fake
        self.seen_names: set[str] = set()
        self.emails: set[str] = set()
        self.slugs: set[str] = set()
        nanp = [f"+1 {area}-555-01{n:02d}" for area in AREA_CODES for n in range(100)]
        uk = [f"+44 7700 900{n:03d}" for n in range(1000)]
        self.rng.shuffle(nanp)
        self.rng.shuffle(uk)
        self.phones = {"nanp": nanp, "uk": uk}
        self.companies = self._companies()
        self.humans: list[Human] = []

    def _companies(self) -> list[Company]:
        """A few dozen companies with Zipf-like sizes: some with many people, most with a few."""
        names: list[tuple[str, Place]] = []
        taken: set[str] = set()
        while len(names) < COMPANIES:
            place = self.rng.choices(PLACES, PLACE_WEIGHTS)[0]
            name = self.fakers[place.locale].company()
            slug = _slug(name.split()[0])
            if "," in name or len(name) > 40 or slug in taken or not slug:
                continue
            taken.add(slug)
            names.append((name, place))
        return [
            Company(name, f"{_slug(name.split()[0])}.example", place, 1 / (rank + 1.5) ** 0.9)
            for rank, (name, place) in enumerate(names)
        ]

    def _unique(self, value: str, seen: set[str], sep: str) -> str:
        candidate, n = value, 1
        while candidate in seen:
            n += 1
            candidate = f"{value}{sep}{n}"
        seen.add(candidate)
        return candidate

    def human(
        self, company: Company | None = None, *, email_domain: str | None = None, email: str | None = None
    ) -> Human:
        """A new person: mostly living where their company is, named after where they live."""
        rng = self.rng
        company = company or rng.choices(self.companies, [c.weight for c in self.companies])[0]
        place = company.hq if rng.random() < 0.75 else rng.choices(PLACES, PLACE_WEIGHTS)[0]
        fake = self.fakers[place.locale]
        while True:
            given, family = fake.first_name(), fake.last_name()
            if f"{given} {family}".casefold() not in self.seen_names:
                break
        self.seen_names.add(f"{given} {family}".casefold())
        local = _slug(f"{given}.{family}").replace("-", ".")
        work = email or self._unique(f"{local}@{email_domain or company.domain}", self.emails, "")
        personal_local = rng.choice((f"{_slug(given)}{_slug(family)}", f"{_slug(given)[:1]}{_slug(family)}", local))
        personal = self._unique(
            f"{personal_local.replace('-', '')}{rng.randrange(10, 99)}@{rng.choice(PERSONAL_DOMAINS)}", self.emails, ""
        )
        phone = self.phones[place.phone_zone].pop()
        national = f"({phone[3:6]}) {phone[7:]}" if phone.startswith("+1 ") else None
        slug = self._unique(f"{_slug(given)}-{_slug(family)}-{rng.randrange(16**6):06x}", self.slugs, "-")
        human = Human(
            key=len(self.humans),
            given=given,
            family=family,
            company=company,
            title=rng.choices([t for t, _ in TITLES], [w for _, w in TITLES])[0],
            place=place,
            work_email=work,
            personal_email=personal,
            phone=phone,
            national_phone=national,
            profile_url=f"https://www.linkedin.com/in/{slug}",
            connected_on=date(2011, 1, 1) + timedelta(days=rng.randrange(15 * 365)),
        )
        self.humans.append(human)
        return human

    def crowd(self, count: int, *, near: Company | None = None, share: float = 0.0) -> list[Human]:
        """`count` new people; a `share` of them at `near` (colleagues cluster)."""
        return [self.human(near if near and self.rng.random() < share else None) for _ in range(count)]


# --- writing files the way exporters do ------------------------------------------------------------------------

#: Keys a format can carry for a person: work/personal email, phone, LinkedIn profile URL.
CARRIES = {
    "linkedin": ("work", "personal", "url"),  # one email column, which LinkedIn fills only when allowed
    "google": ("work", "personal", "phone", "url"),
    "vcard": ("phone", "personal", "work", "url"),
}


def _keys(rng: random.Random, fmt: str) -> set[str]:
    """Which keys a typical row of this format holds."""
    if fmt == "linkedin":
        return {"url", "work"} if rng.random() < 0.3 else {"url"}
    if fmt == "google":
        keys = {"work"} if rng.random() < 0.85 else {"personal"}
        keys |= {"personal"} if rng.random() < 0.2 else set()
        keys |= {"phone"} if rng.random() < 0.5 else set()
        return keys | ({"url"} if rng.random() < 0.1 else set())
    keys = {"phone"}
    keys |= {"personal"} if rng.random() < 0.4 else set()
    keys |= {"work"} if rng.random() < 0.15 else set()
    return keys | ({"url"} if rng.random() < 0.1 else set())


@dataclass(frozen=True)
class Row:
    human: Human
    keys: frozenset[str]


class _Rows:
    """Chooses the keys of each row, remembering which keys of a person earlier files showed (in import order),
    so that a person meant to be the same one shares a key with an earlier row."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.exposed: dict[int, set[str]] = {}

    def row(self, human: Human, fmt: str, keys: Iterable[str] | None = None) -> Row:
        chosen = set(keys) if keys is not None else _keys(self.rng, fmt)
        seen = self.exposed.get(human.key, set())
        if keys is None and seen and not chosen & seen:
            linkable = [k for k in CARRIES[fmt] if k in seen]
            if not linkable:
                raise ValueError(f"{human.name} cannot be linked in a {fmt} file")
            chosen.add(linkable[0])
        if fmt == "linkedin" and {"work", "personal"} <= chosen:  # one email column: keep the one that links
            chosen.discard("work" if "personal" in seen and "work" not in seen else "personal")
        self.exposed.setdefault(human.key, set()).update(chosen)
        return Row(human, frozenset(chosen))


def _csv(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


LINKEDIN_PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are missing. You will '
    "only see email addresses for connections who have allowed their connections to see or download their email "
    'address using this setting https://www.linkedin.com/psettings/privacy/email."\n'
    "\n"
)


def linkedin_csv(rows: Sequence[Row]) -> str:
    """LinkedIn's Connections.csv (Settings → Data privacy → Get a copy of your data)."""
    header = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
    lines = [header]
    for row in rows:
        h = row.human
        email = h.work_email if "work" in row.keys else h.personal_email if "personal" in row.keys else ""
        lines.append(
            [h.given, h.family, h.profile_url, email, h.company.name, h.title, h.connected_on.strftime("%d %b %Y")]
        )
    return LINKEDIN_PREAMBLE + _csv(lines)


GOOGLE_HEADER = (
    "First Name", "Middle Name", "Last Name", "Nickname", "File As", "Organization Name", "Organization Title",
    "Notes", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value",
    "Phone 1 - Label", "Phone 1 - Value", "Address 1 - Label", "Address 1 - City", "Address 1 - Region",
    "Address 1 - Country", "Website 1 - Label", "Website 1 - Value",
)  # fmt: skip


def google_csv(rows: Sequence[Row]) -> str:
    """A Google Contacts export (contacts.google.com → Export → Google CSV)."""
    lines: list[Sequence[str]] = [GOOGLE_HEADER]
    for row in rows:
        h = row.human
        emails = [("Work", h.work_email)] if "work" in row.keys else []
        emails += [("Home", h.personal_email)] if "personal" in row.keys else []
        emails += [("", "")] * (2 - len(emails))
        phone = ("Mobile", h.phone) if "phone" in row.keys else ("", "")
        site = ("Profile", h.profile_url) if "url" in row.keys else ("", "")
        names = [h.given, "", h.family, "", f"{h.family}, {h.given}"]
        work = [h.company.name, h.title, "", "* myContacts"]
        address = ["Work", h.place.city, h.place.region, h.place.country]
        lines.append([*names, *work, *emails[0], *emails[1], *phone, *address, *site])
    return _csv(lines)


def _vtext(value: str) -> str:
    """vCard 3.0 text escaping."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def vcards(rows: Sequence[Row], *, national_phones: bool = True) -> str:
    """A phone's address book exported as vCard 3.0; US numbers partly written as dialled at home."""
    cards = []
    for index, row in enumerate(rows):
        h = row.human
        lines = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:{_vtext(h.family)};{_vtext(h.given)};;;",
            f"FN:{_vtext(h.name)}",
            f"ORG:{_vtext(h.company.name)};",
            f"TITLE:{_vtext(h.title)}",
        ]
        if "phone" in row.keys:
            national = national_phones and h.national_phone and index % 2 == 0
            lines.append(f"TEL;TYPE=CELL,VOICE:{h.national_phone if national else h.phone}")
        if "personal" in row.keys:
            lines.append(f"EMAIL;TYPE=INTERNET,HOME:{h.personal_email}")
        if "work" in row.keys:
            lines.append(f"EMAIL;TYPE=INTERNET,WORK:{h.work_email}")
        place = h.place
        lines.append(f"ADR;TYPE=WORK:;;;{_vtext(place.city)};{_vtext(place.region)};;{_vtext(place.country)}")
        if "url" in row.keys:
            lines.append(f"item1.URL:{h.profile_url}")
            lines.append("item1.X-ABLabel:LinkedIn")
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines) + "\r\n")
    return "".join(cards)


WRITERS: dict[str, Callable[[Sequence[Row]], str]] = {"linkedin": linkedin_csv, "google": google_csv, "vcard": vcards}
FILENAMES = {"linkedin": "Connections.csv", "google": "contacts.csv", "vcard": "iPhone Contacts.vcf"}
SOURCE_NAMES = {"linkedin": "LinkedIn", "google": "Google Contacts", "vcard": "iPhone"}


def generate_network(seed: int = 6) -> DemoNetwork:
    """The demo world for `seed`: users, and their contact files in import order. Deterministic."""
    world = _World(seed)
    rng = world.rng
    rows = _Rows(rng)
    home = sorted(world.companies, key=lambda c: -c.weight)[DEMO_COMPANY_RANK]

    me = world.human(home, email=DEMO_EMAIL)
    colleague = world.human(home, email_domain=DEMO_DOMAIN)  # knows the demo user: their people are 2 hops away
    friend = world.human(email_domain=DEMO_DOMAIN)  # the colleague's contact: 3 hops
    far = world.human(email_domain=DEMO_DOMAIN)  # the friend's contact: 4 hops
    side = world.human(email_domain=DEMO_DOMAIN)  # shares contacts with the demo user without being one

    # The demo user's network, by the sources each person is in (import order: vCard, LinkedIn, Google).
    plan: dict[str, list[tuple[Human, set[str] | None]]] = {"vcard": [], "linkedin": [], "google": []}
    mine: list[Human] = []

    def add(humans: list[Human], formats: Sequence[str]) -> None:
        for h in humans:
            mine.append(h)
            for fmt in formats:
                keys = None
                if fmt == "vcard" and "linkedin" in formats:  # a key the LinkedIn row can carry too
                    keys = _keys(rng, fmt) | {rng.choice(("url", "personal", "work"))}
                plan[fmt].append((h, keys))

    add(world.crowd(70, near=home, share=0.15), ["linkedin"])
    add(world.crowd(30), ["google"])
    add(world.crowd(25), ["vcard"])
    add(world.crowd(35, near=home, share=0.1), ["linkedin", "google"])
    add(world.crowd(20), ["vcard", "google"])
    add(world.crowd(10), ["vcard", "linkedin"])
    add(world.crowd(15, near=home, share=0.2), ["vcard", "linkedin", "google"])
    bridges = world.crowd(12)  # vCard: phone only; LinkedIn: profile only; Google: both, so the two merge
    for h in bridges:
        mine.append(h)
        plan["vcard"].append((h, {"phone"}))
        plan["linkedin"].append((h, {"url"}))
        plan["google"].append((h, {"work", "phone", "url"}))
    split = world.crowd(6)  # LinkedIn and Google rows with no key in common: merge suggestions
    for h in split:
        plan["linkedin"].append((h, {"url"}))
        plan["google"].append((h, {"work"}))
    plan["vcard"].insert(0, (me, {"work", "phone"}))  # the phone's own card ("My Card")
    plan["google"].append((colleague, {"work"}))

    files: list[DemoFile] = []

    def write(owner: str, fmt: str, entries: list[tuple[Human, set[str] | None]]) -> None:
        ordered = sorted(entries, key=lambda e: (e[0].family.casefold(), e[0].given.casefold(), e[0].key))
        made = [rows.row(h, fmt, keys) for h, keys in ordered]
        files.append(DemoFile(owner, FILENAMES[fmt], fmt, SOURCE_NAMES[fmt], WRITERS[fmt](made), len(made)))

    for fmt in ("vcard", "linkedin", "google"):
        write(DEMO_EMAIL, fmt, plan[fmt])

    overlap_pool = [h for h in mine if h not in split]
    first_ring = world.crowd(80, near=colleague.company, share=0.3)
    write(
        colleague.work_email,
        "google",
        [(h, None) for h in rng.sample(overlap_pool, 40) + first_ring] + [(friend, {"work"})],
    )
    second_ring = world.crowd(70)
    write(
        friend.work_email,
        "linkedin",
        [(h, None) for h in rng.sample(first_ring, 30) + second_ring] + [(far, {"url", "work"})],
    )
    third_ring = world.crowd(60)
    write(far.work_email, "vcard", [(h, None) for h in rng.sample(second_ring, 25) + third_ring] + [(side, {"work"})])
    side_ring = world.crowd(50)
    linkable = [h for h in overlap_pool if rows.exposed[h.key] & {"work", "personal", "url"}]
    write(
        side.work_email,
        "linkedin",
        [(h, None) for h in rng.sample(linkable, 30) + rng.sample(first_ring, 20) + side_ring],
    )

    users = (
        DemoUser(DEMO_EMAIL, me, Sharing.private),
        DemoUser(colleague.work_email, colleague, Sharing.network),
        DemoUser(friend.work_email, friend, Sharing.network),
        DemoUser(far.work_email, far, Sharing.network),
        DemoUser(side.work_email, side, Sharing.network),
    )
    return DemoNetwork(seed, users, tuple(files), tuple(world.humans))


# --- seeding through the import pipeline -----------------------------------------------------------------------


def count_demo(session: Session) -> DemoSummary:
    """The counts of what the database holds (suggestions: those whose two people are both still separate)."""

    def count(model: type, *where: object) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]

    a, b = aliased(Person), aliased(Person)
    open_suggestions = session.scalar(
        select(func.count())
        .select_from(MergeSuggestion)
        .join(a, a.id == MergeSuggestion.person_a_id)
        .join(b, b.id == MergeSuggestion.person_b_id)
        .where(a.merged_into.is_(None), b.merged_into.is_(None))
    )
    return DemoSummary(
        users=count(User),
        contacts=count(Contact),
        people=count(Person, Person.merged_into.is_(None)),
        merges=count(Merge),
        suggestions=open_suggestions or 0,
    )


def _finished(session: Session, network: DemoNetwork) -> bool:
    """True when the demo user exists and every demo file was imported (an interrupted seeding resumes)."""
    demo = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if demo is None:
        return False
    # Every user is a demo user here (real users are refused first), whatever seed made them.
    done = session.scalar(select(func.count()).select_from(Import).where(Import.status == ImportStatus.done))
    return (done or 0) >= len(network.files)


def _ensure_user(config: Config, user: DemoUser) -> None:
    with unit_of_work(config) as session:
        found = session.scalar(select(User).where(User.email == user.email))
        if found is None:
            found = accounts.create_user(session, user.email, DEMO_PASSWORD)
            person = session.get(Person, found.person_id)
            if person is not None and person.display_name == user.email.split("@")[0]:
                # A new account is named after its email until someone imports them; the demo user never is.
                person.display_name = user.human.name
                person.given_name, person.family_name = user.human.given, user.human.family
        accounts.set_sharing(session, found, user.sharing)


def import_file(config: Config, owner_email: str, path: Path, *, fmt: str, source_name: str) -> int:
    """Import a contact file for a user synchronously, with the import actor's own steps (request, then each
    batch in its own transaction, then finish); returns the import id.

    The job's message is still sent after commit like any other; if a worker receives it, it finds the job done
    and does nothing. Run this where no worker consumes the `imports` queue yet (the CLI seeds before starting
    its workers), so a worker cannot pick the job up half-way.
    """
    with unit_of_work(config) as session:
        owner = session.scalar(select(User).where(User.email == owner_email))
        if owner is None:
            raise LookupError(f"no user {owner_email}")
        stored = importer.copy_local_file(config, path)
        job = importer.request_import(
            session,
            config,
            owner,
            stored,
            filename=path.name,
            fmt=fmt,
            default_region=DEMO_REGION,
            source_name=source_name,
        )
        import_id = job.id
    with unit_of_work(config) as session:
        plan = importer.start_import(session, import_id)
    if plan is not None:
        for _written in importer.run_batches(config, plan):  # every batch, one transaction each
            pass
        with unit_of_work(config) as session:
            importer.finish_import(session, import_id)
    return import_id


def project_everyone(config: Config, batch: int = 1000) -> int:
    """Bring every configured projection (the search index; the Neo4j graph when configured) up to date for all
    people, with the projection actor's own step, so people are searchable as soon as the server starts (the
    outbox messages of the seeding come later and change nothing). Returns how many people were projected."""
    from pipelines.graph import stores as _graph_stores  # noqa: F401  (registers the graph projection)
    from pipelines.search import stores as _search_stores  # noqa: F401  (registers the search projection)

    with unit_of_work(config) as session:
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        for start in range(0, len(ids), batch):
            projections.sync_people(config, session, ids[start : start + batch])
    return len(ids)


def seed_demo(config: Config, *, seed: int = 6, progress: Progress | None = None) -> DemoSummary:
    """Create the demo users and import their generated files; idempotent.

    Does nothing (and returns the counts) when the demo is already there; resumes an interrupted seeding (the
    imports are idempotent); raises DemoRefused when the database holds real users. Migrates first.
    """
    started = time.monotonic()
    migrate_on_boot(config)
    refusal = demo_refusal(config)
    if refusal:
        raise DemoRefused(refusal)
    network = generate_network(seed)
    with unit_of_work(config) as session:
        if _finished(session, network):
            return count_demo(session)

    steps = len(network.users) + len(network.files) + 1
    done = 0

    def step(label: str) -> None:
        nonlocal done
        if progress:
            progress(done, steps, label)
        done += 1

    with tempfile.TemporaryDirectory(prefix="sixdeg-demo-") as folder:
        for user in network.users:
            step(f"creating {user.email}")
            _ensure_user(config, user)
            for file in network.files_of(user.email):
                step(f"importing {file.source_name} ({file.people} contacts) for {user.email}")
                path = Path(folder) / str(done) / file.filename
                path.parent.mkdir()
                path.write_text(file.text, encoding="utf-8", newline="")
                import_file(config, user.email, path, fmt=file.fmt, source_name=file.source_name)
    step("projecting people into search" + (" and the graph" if config.graph_kind == "neo4j" else ""))
    project_everyone(config)
    if progress:
        progress(steps, steps, "done")
    with unit_of_work(config) as session:
        summary = count_demo(session)
    return replace(summary, seeded=True, seconds=round(time.monotonic() - started, 2))
