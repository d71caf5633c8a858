"""Your contacts and sources: list, read, delete; and export of everything you own."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, url_for
from spectree import Response as Responses
from sqlalchemy import select

from api.context import config, db, login_required, owned_or_404, require_user
from api.pagination import PageQuery, page_response
from api.schemas import ContactOut, Deleted, ExportOut, Page, SourceOut, render
from api.spec import spec
from pipelines import ownership
from pipelines.db import unit_of_work
from pipelines.models import Contact, Source, SourceKind, User

blueprint = Blueprint("contacts", __name__, url_prefix="/v1")


def contact_out(contact: Contact) -> dict:
    return render(ContactOut)(contact)


def source_out(source: Source) -> dict:
    """A source as the API shows it; webhook sources also say whether they are disabled and where to post."""
    webhook = (
        {
            "disabled": source.disabled_at is not None,
            "secret_rotated_until": source.webhook_previous_until if source.webhook_previous_secret else None,
            "webhook_url": url_for("webhooks.receive", source_id=source.id, _external=True),
        }
        if source.kind == SourceKind.webhook
        else {}
    )
    return SourceOut(
        id=source.id,
        kind=source.kind.value,
        name=source.name,
        created_at=source.created_at,
        contacts=ownership.contact_count(db(), source.id),
        **webhook,
    ).model_dump(mode="json")


def _own_contact(contact_id: int) -> Contact:
    return owned_or_404(Contact, contact_id, "contact")


def _own_source(source_id: int) -> Source:
    return owned_or_404(Source, source_id, "source")


@blueprint.get("/contacts")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[ContactOut]), tags=["contacts"])
def list_contacts(query: PageQuery) -> Response:
    """Your contacts, newest first, with the fields as their source gave them."""
    return page_response(select(Contact).where(Contact.user_id == require_user().id), Contact.id, query, contact_out)


@blueprint.get("/contacts/<int:contact_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=ContactOut, HTTP_404=None), tags=["contacts"])
def get_contact(contact_id: int) -> Response:
    """One of your contacts."""
    return jsonify(contact_out(_own_contact(contact_id)))


@blueprint.delete("/contacts/<int:contact_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=Deleted, HTTP_404=None), tags=["contacts"])
def delete_contact(contact_id: int) -> Response:
    """Delete one of your contacts (and the edge to that person, if no other contact of yours supports it)."""
    counts = ownership.delete_contacts(db(), require_user(), [_own_contact(contact_id).id])
    return jsonify(Deleted(deleted=counts).model_dump())


@blueprint.get("/sources")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[SourceOut]), tags=["sources"])
def list_sources(query: PageQuery) -> Response:
    """Your contact sources, newest first."""
    return page_response(select(Source).where(Source.user_id == require_user().id), Source.id, query, source_out)


@blueprint.get("/sources/<int:source_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=SourceOut, HTTP_404=None), tags=["sources"])
def get_source(source_id: int) -> Response:
    """One of your sources."""
    return jsonify(source_out(_own_source(source_id)))


@blueprint.delete("/sources/<int:source_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=Deleted, HTTP_404=None), tags=["sources"])
def delete_source(source_id: int) -> Response:
    """Delete a source with all its contacts and imports."""
    counts = ownership.delete_source(db(), require_user(), _own_source(source_id))
    return jsonify(Deleted(deleted=counts).model_dump())


@blueprint.get("/export")
@login_required
@spec.validate(resp=Responses(HTTP_200=ExportOut), tags=["export"])
def export_json() -> Response:
    """Everything you own, as one JSON document."""
    response = jsonify(ownership.export_user(db(), require_user()))
    response.headers["Content-Disposition"] = 'attachment; filename="sixdeg-export.json"'
    return response


@blueprint.get("/export/contacts.vcf")
@login_required
@spec.validate(tags=["export"])
def export_vcard() -> Response:
    """All your contacts as vCard 4.0 (text/vcard), streamed."""
    user_id, settings = require_user().id, config()

    def cards() -> Iterator[str]:  # its own unit of work: the request's session is closed before streaming
        with unit_of_work(settings) as session:
            yield from ownership.export_vcards(session, session.get(User, user_id))

    response = Response(cards(), mimetype="text/vcard")
    response.headers["Content-Disposition"] = 'attachment; filename="sixdeg-contacts.vcf"'
    return response
