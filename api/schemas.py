"""Request and response bodies of the API (pydantic; the OpenAPI document is generated from them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from spectree.model_adapter.pydantic_adapter import BaseFile

from pipelines.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

T = TypeVar("T")


def render(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    """A function turning an ORM row into `model`'s JSON shape (validated on the way out)."""
    return lambda row: model.model_validate(row, from_attributes=True).model_dump(mode="json")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    next: str | None = Field(description="URL of the next page; null on the last page.")


class FieldError(BaseModel):
    field: str
    message: str
    code: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


# --- accounts --------------------------------------------------------------------------------------------------


class Credentials(Strict):
    """Log-in credentials."""

    email: str = Field(min_length=1, max_length=320, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=256)


class SignUp(Strict):
    """A new account."""

    # Checked by pipelines.accounts.normalize_email (email-validator, which also accepts RFC 2606 .test domains).
    email: str = Field(max_length=320, examples=["ada@example.com"], json_schema_extra={"format": "email"})
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class UserOut(BaseModel):
    id: int
    email: str
    person_id: int
    sharing: Literal["private", "network"]
    created_at: datetime


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as X-CSRF-Token with every unsafe cookie-authenticated request.")
    expires_at: datetime


class MeUpdate(Strict):
    sharing: Literal["private", "network"] = Field(
        description="network: others may find paths through your connections (names, companies and titles "
        "only); private: only you use them."
    )


class AccountDeletion(Strict):
    password: str = Field(min_length=1, max_length=256, description="Your current password, to confirm.")


# --- tokens ----------------------------------------------------------------------------------------------------


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["laptop script"])


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself. It is shown only now: store it safely.")


# --- contacts and sources --------------------------------------------------------------------------------------


class SourceOut(BaseModel):
    id: int
    kind: str
    name: str
    created_at: datetime
    contacts: int
    disabled: bool | None = Field(None, description="Webhook sources: whether events are refused.")
    secret_rotated_until: datetime | None = Field(
        None, description="Webhook sources: until when the previous secret is still accepted after a rotation."
    )
    webhook_url: str | None = Field(None, description="Webhook sources: where the sender posts its events.")


class ContactOut(BaseModel):
    id: int
    source_id: int
    person_id: int
    external_key: str
    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Deleted(BaseModel):
    deleted: dict[str, int] = Field(description="How many rows of each kind were removed.")


class ExportOut(BaseModel):
    format: Literal["sixdeg-export"]
    version: int
    exported_at: datetime
    user: UserOut
    sources: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    imports: list[dict[str, Any]]
    tokens: list[dict[str, Any]]


class EmptyQuery(Strict):
    pass


# --- imports and merges ----------------------------------------------------------------------------------------


class ImportForm(BaseModel):
    """A contact file to import (multipart/form-data)."""

    file: BaseFile = Field(
        description="The export: LinkedIn Connections.csv, Google/Outlook/Thunderbird CSV, "
        "any CSV with a header, or vCard (.vcf)."
    )
    format: Literal["auto", "linkedin", "google", "outlook", "thunderbird", "csv", "vcard"] = "auto"
    default_region: str | None = Field(
        None, pattern=r"^[A-Za-z]{2}$", description="ISO country for phone numbers without +country code, e.g. DE."
    )
    source_name: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Name of the source to import into (default: the format's name).",
    )


class ImportOut(BaseModel):
    id: int
    url: str
    status: Literal["requested", "running", "done", "failed"]
    format: str
    filename: str
    source_id: int | None
    progress: float = Field(description="0 to 1, estimated from records read.")
    rows_total: int
    rows_done: int
    people_created: int
    people_merged: int
    contacts: int
    contacts_updated: int
    contacts_unchanged: int
    errors: int
    failure: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportErrorOut(BaseModel):
    id: int
    line: int
    reason: str
    raw: str | None


class MergeOut(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    reason: str
    created_at: datetime
    undone_at: datetime | None


class MergeSuggestionOut(BaseModel):
    id: int
    person_a_id: int
    person_b_id: int
    reason: str
    created_at: datetime


# --- the network -----------------------------------------------------------------------------------------------


class PersonCard(BaseModel):
    id: int
    name: str | None
    company: str | None
    title: str | None


class Step(BaseModel):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    strength: float
    since: str | None
    owner: Literal["you", "shared", "public"]
    evidence: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)


class PathOut(BaseModel):
    hops: int
    strength: float = Field(description="Product of the steps' strengths.")
    people: list[PersonCard]
    steps: list[Step]


class PathQuery(Strict):
    to: str = Field(min_length=1, max_length=320, description="Person id, email, or key:<node>.")
    max_hops: int = Field(6, ge=1, le=6)
    limit: int = Field(5, ge=1, le=20)


class PathsOut(BaseModel):
    source: PersonCard
    target: PersonCard
    paths: list[PathOut] = Field(description="Best first; empty when you are not connected within max_hops.")


class MutualsOut(BaseModel):
    person: PersonCard
    mutuals: list[PersonCard]


class StatsOut(BaseModel):
    degrees: dict[str, int] = Field(description="How many people are at 1, 2 and 3 hops from you.")


class ReachQuery(Strict):
    company: str = Field(min_length=1, max_length=300)
    limit: int = Field(20, ge=1, le=100)


class ReachItem(BaseModel):
    person: PersonCard
    path: PathOut


class ReachOut(BaseModel):
    company: str
    people: list[ReachItem] = Field(description="People at the company within 3 hops, best path first.")


class GraphQuery(Strict):
    around: int | None = Field(None, ge=1, description="Whose neighbourhood (a person id); default: you.")
    hops: int = Field(2, ge=1, le=2, description="How far out from `around`.")
    limit: int = Field(2000, ge=1, le=5000, description="Most people returned, nearest and strongest ties first.")


class GraphNode(PersonCard):
    distance: int = Field(description="Hops from `around` (0 is `around` itself).")


class GraphEdge(BaseModel):
    source: int
    target: int
    strength: float


class GraphOut(BaseModel):
    center: int
    nodes: list[GraphNode]
    edges: list[GraphEdge] = Field(description="Every connection you may use among the nodes, strongest per pair.")
    truncated: bool = Field(description="True when people within `hops` were left out to stay within `limit`.")


# --- search ----------------------------------------------------------------------------------------------------


class PeopleQuery(Strict):
    q: str = Field("", max_length=200, description="Words of a name, company, title, location or email domain.")
    company: str | None = Field(None, max_length=300, description="Only people at this company (exact, any case).")
    title: str | None = Field(None, max_length=300, description="Only people whose title has these words.")
    location: str | None = Field(None, max_length=300, description="Only people whose location has these words.")
    degree: str | None = Field(
        None, pattern=r"^[123](,[123]){0,2}$", description="Only people this many hops away: 1, 2, 3 or a list (1,2)."
    )
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of the previous page.")


class SuggestQuery(Strict):
    q: str = Field(min_length=1, max_length=200, description="What has been typed so far.")
    limit: int = Field(8, ge=1, le=20)


class PersonHit(BaseModel):
    id: int
    name: str
    company: str | None
    title: str | None
    location: str | None
    degree: int | None = Field(description="Hops from you (0 is you, 1 to 3); null when further or unconnected.")
    highlight: dict[str, list[list[int]]] = Field(
        description="Per field, the [start, end) character ranges of the words that matched."
    )


class CompanyFacet(BaseModel):
    company: str
    count: int


class PeopleFacets(BaseModel):
    companies: list[CompanyFacet] = Field(description="Most frequent companies among all matches.")


class PeopleOut(BaseModel):
    items: list[PersonHit]
    total: int = Field(description="How many people match in all.")
    facets: PeopleFacets
    next_cursor: str | None
    next: str | None


class SuggestOut(BaseModel):
    items: list[PersonHit]


class SourceRef(BaseModel):
    id: int
    kind: str
    name: str


class PersonContact(BaseModel):
    id: int
    source: SourceRef
    fields: dict[str, Any]
    updated_at: datetime


class PersonMerge(MergeOut):
    merged: PersonCard | None = Field(description="Who was folded into this person, as they were.")


class PersonSuggestion(BaseModel):
    id: int = Field(description="The merge suggestion's id (accept or dismiss it).")
    reason: str
    other: PersonCard


class PersonOut(BaseModel):
    id: int
    name: str
    company: str | None
    title: str | None
    location: str | None
    degree: int | None
    is_you: bool
    contacts: list[PersonContact] = Field(description="Your own contact records of this person.")
    merges: list[PersonMerge] = Field(
        default_factory=list, description="Your merges that folded someone into this person (undoable)."
    )
    merge_suggestions: list[PersonSuggestion] = Field(
        default_factory=list, description="People in your data who may be this person too."
    )


# --- webhook sources -------------------------------------------------------------------------------------------


class SourceIn(Strict):
    """A new source. Only webhook sources are created this way (file sources come with their imports)."""

    kind: Literal["webhook"]
    name: str = Field(min_length=1, max_length=200, examples=["crm"])


class WebhookSourceOut(SourceOut):
    disabled: bool
    secret_rotated_until: datetime | None = Field(
        description="Until when the previous secret is still accepted after a rotation; null when none is."
    )
    webhook_url: str = Field(description="Where the sender posts its events.")


class SecretOut(BaseModel):
    source: WebhookSourceOut
    secret: str = Field(description="The signing secret (whsec_...). Shown only now: store it with the sender.")


class RotateIn(Strict):
    grace_seconds: int = Field(
        86_400, ge=0, le=7 * 86_400, description="How long the current secret stays valid next to the new one."
    )


class WebhookAccepted(BaseModel):
    accepted: bool = True
    duplicate: bool = Field(description="True when this webhook-id was received before (nothing new was stored).")
