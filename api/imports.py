"""Contact imports (202 + poll for progress), their row errors, and merges (list, undo, suggestions)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, make_response, url_for
from spectree import Response as Responses
from sqlalchemy import select

from api.context import config, db, login_required, owned_or_404, require_user
from api.pagination import PageQuery, page_response
from api.problems import Problem
from api.schemas import ImportErrorOut, ImportForm, ImportOut, MergeOut, MergeSuggestionOut, Page, render
from api.spec import spec
from pipelines.contacts import importer
from pipelines.contacts.merge import MergeRefused, accept_suggestion, dismiss_suggestion, undo_merge
from pipelines.models import Import, ImportError_, Merge, MergeSuggestion

blueprint = Blueprint("imports", __name__, url_prefix="/v1")


def import_out(job: Import) -> dict:
    total = max(job.rows_total, job.rows_done, 1)
    progress = 1.0 if job.status.value == "done" else min(job.rows_done / total, 0.99)
    return ImportOut(
        id=job.id,
        url=url_for("imports.get_import", import_id=job.id, _external=False),
        status=job.status.value,
        format=job.format,
        filename=job.filename,
        source_id=job.source_id,
        progress=round(progress, 4),
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        people_created=job.people_created,
        people_merged=job.people_merged,
        contacts=job.contacts,
        contacts_updated=job.contacts_updated,
        contacts_unchanged=job.contacts_unchanged,
        errors=job.errors,
        failure=job.failure,
        requested_at=job.requested_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    ).model_dump(mode="json")


@blueprint.post("/imports")
@login_required
@spec.validate(form=ImportForm, resp=Responses(HTTP_202=ImportOut, HTTP_413=None, HTTP_422=None), tags=["imports"])
def create_import(form: ImportForm) -> Response:
    """Import a contact file. Answers 202 at once; poll the import's URL for progress and counts."""
    upload = form.file
    if not hasattr(upload, "stream") or not getattr(upload, "filename", None):
        raise Problem(
            422,
            "Unprocessable Content",
            "Attach the contact file as the multipart field 'file'.",
            slug="validation-failed",
            errors=[{"field": "file", "message": "no file", "code": "missing"}],
        )
    try:
        path = importer.store_upload(config(), upload.stream, upload.filename, config().max_upload_bytes)
        job = importer.request_import(
            db(),
            config(),
            require_user(),
            path,
            filename=upload.filename,
            fmt=form.format,
            default_region=form.default_region,
            source_name=form.source_name,
        )
    except importer.UploadTooLarge as exc:
        raise Problem(413, "Content Too Large", str(exc), slug="payload-too-large") from None
    except importer.ImportRefused as exc:
        raise Problem(
            422,
            "Unprocessable Content",
            str(exc),
            slug="not-a-contact-file",
            errors=[{"field": "file", "message": str(exc), "code": "not_importable"}],
        ) from None
    response = make_response(jsonify(import_out(job)), 202)
    response.headers["Location"] = url_for("imports.get_import", import_id=job.id)
    return response


@blueprint.get("/imports")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[ImportOut]), tags=["imports"])
def list_imports(query: PageQuery) -> Response:
    """Your imports, newest first."""
    return page_response(select(Import).where(Import.user_id == require_user().id), Import.id, query, import_out)


@blueprint.get("/imports/<int:import_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=ImportOut, HTTP_404=None), tags=["imports"])
def get_import(import_id: int) -> Response:
    """One import: status, progress and counts."""
    return jsonify(import_out(owned_or_404(Import, import_id, "import")))


@blueprint.get("/imports/<int:import_id>/errors")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[ImportErrorOut], HTTP_404=None), tags=["imports"])
def list_import_errors(import_id: int, query: PageQuery) -> Response:
    """The lines of an import that could not be used, with the reason for each."""
    job = owned_or_404(Import, import_id, "import")
    return page_response(
        select(ImportError_).where(ImportError_.import_id == job.id),
        ImportError_.id,
        query,
        render(ImportErrorOut),
    )


@blueprint.get("/merges")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[MergeOut]), tags=["merges"])
def list_merges(query: PageQuery) -> Response:
    """Merges your imports made (same email, phone or profile URL), newest first, each with its reason."""
    return page_response(
        select(Merge).where(Merge.user_id == require_user().id),
        Merge.id,
        query,
        render(MergeOut),
    )


@blueprint.post("/merges/<int:merge_id>/undo")
@login_required
@spec.validate(resp=Responses(HTTP_200=MergeOut, HTTP_404=None, HTTP_409=None), tags=["merges"])
def undo(merge_id: int) -> Response:
    """Undo a merge: the merged person comes back with its identities, contacts and edges."""
    merge = owned_or_404(Merge, merge_id, "merge")
    try:
        undone = undo_merge(db(), merge.id)
    except MergeRefused as exc:
        raise Problem(409, "Conflict", str(exc), slug="conflict") from None
    return jsonify(render(MergeOut)(undone))


@blueprint.get("/merge-suggestions")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[MergeSuggestionOut]), tags=["merges"])
def list_merge_suggestions(query: PageQuery) -> Response:
    """People in your data with the same name and company: maybe one human. sixdeg never merges these itself."""
    return page_response(
        select(MergeSuggestion).where(
            MergeSuggestion.user_id == require_user().id, MergeSuggestion.dismissed_at.is_(None)
        ),
        MergeSuggestion.id,
        query,
        render(MergeSuggestionOut),
    )


@blueprint.post("/merge-suggestions/<int:suggestion_id>/accept")
@login_required
@spec.validate(resp=Responses(HTTP_200=MergeOut, HTTP_404=None, HTTP_409=None), tags=["merges"])
def accept(suggestion_id: int) -> Response:
    """Yes, the same human: merge the two people (undo it like any merge). Answers with the merge."""
    suggestion = owned_or_404(MergeSuggestion, suggestion_id, "merge suggestion")
    try:
        merge = accept_suggestion(db(), suggestion)
    except MergeRefused as exc:
        raise Problem(409, "Conflict", str(exc), slug="conflict") from None
    return jsonify(render(MergeOut)(merge))


@blueprint.post("/merge-suggestions/<int:suggestion_id>/dismiss")
@login_required
@spec.validate(resp=Responses(HTTP_204=None, HTTP_404=None), tags=["merges"])
def dismiss(suggestion_id: int) -> Response:
    """No, two different people: the suggestion goes away and is never made again."""
    dismiss_suggestion(db(), owned_or_404(MergeSuggestion, suggestion_id, "merge suggestion"))
    return Response(status=204)
