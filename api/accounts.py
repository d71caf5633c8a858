"""Accounts: sign up, log in and out, change password, your profile and sharing, API tokens."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, make_response
from spectree import Response as Responses
from sqlalchemy import select

from api.context import (
    clear_session_cookie,
    config,
    db,
    login_required,
    owned_or_404,
    require_user,
    set_session_cookie,
)
from api.limits import auth_limit, client_ip, limiter, submitted_account
from api.pagination import PageQuery, page_response
from api.problems import Problem
from api.schemas import (
    AccountDeletion,
    Credentials,
    Deleted,
    MeUpdate,
    Page,
    PasswordChange,
    SessionOut,
    SignUp,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserOut,
    render,
)
from api.spec import spec
from pipelines import accounts, ownership
from pipelines.models import ApiToken, Sharing, User

blueprint = Blueprint("accounts", __name__, url_prefix="/v1")
TAG = "accounts"


def user_out(user: User) -> dict:
    return UserOut(
        id=user.id, email=user.email, person_id=user.person_id, sharing=user.sharing.value, created_at=user.created_at
    ).model_dump(mode="json")


def token_out(token: ApiToken) -> dict:
    return render(TokenOut)(token)


def _account_problem(error: accounts.AccountError) -> Problem:
    """422 for invalid input, 409 for a taken email, 403 for a wrong confirmation password."""
    status, title, slug = {
        accounts.EmailTaken: (409, "Conflict", "conflict"),
        accounts.WrongPassword: (403, "Forbidden", "wrong-password"),
    }.get(type(error), (422, "Unprocessable Content", "validation-failed"))
    field = error.field or "(body)"
    return Problem(
        status,
        title,
        str(error),
        slug=slug,
        errors=[{"field": field, "message": str(error), "code": type(error).__name__}],
    )


def _start_session(user: User, status: int) -> Response:
    new = accounts.start_session(db(), user, config().session_days)
    body = SessionOut(user=UserOut(**user_out(user)), csrf_token=new.csrf_token, expires_at=new.expires_at)
    response = make_response(jsonify(body.model_dump(mode="json")), status)
    set_session_cookie(response, new.cookie_value, max_age=config().session_days * 86400)
    return response


@blueprint.post("/auth/signup")
@limiter.limit(auth_limit, key_func=client_ip)
@spec.validate(json=SignUp, resp=Responses(HTTP_201=SessionOut, HTTP_409=None, HTTP_422=None), tags=[TAG], security=[])
def signup(json: SignUp) -> Response:
    """Create an account and log in.

    Sets the HttpOnly session cookie and returns the CSRF token to send with unsafe requests.
    """
    try:
        user = accounts.create_user(db(), json.email, json.password)
    except accounts.AccountError as error:
        raise _account_problem(error) from None
    return _start_session(user, 201)


@blueprint.post("/auth/login")
@limiter.limit(auth_limit, key_func=client_ip)
@limiter.limit(auth_limit, key_func=submitted_account)
@spec.validate(json=Credentials, resp=Responses(HTTP_200=SessionOut, HTTP_401=None), tags=[TAG], security=[])
def login(json: Credentials) -> Response:
    """Log in with email and password; sets the session cookie."""
    user = accounts.authenticate(db(), json.email, json.password)
    if user is None:
        raise Problem(401, "Unauthorized", "The email or the password is not correct.", slug="login-failed")
    return _start_session(user, 200)


@blueprint.get("/auth/session")
@login_required
@spec.validate(resp=Responses(HTTP_200=SessionOut, HTTP_401=None, HTTP_404=None), tags=[TAG])
def current_session() -> Response:
    """The logged-in browser session, with its CSRF token (for a reloaded page)."""
    auth = g.get("auth_session")
    if auth is None:
        raise Problem(
            404, "Not Found", "This request is authenticated by an API token, not a browser session.", slug="not-found"
        )
    body = SessionOut(user=UserOut(**user_out(require_user())), csrf_token=auth.csrf_token, expires_at=auth.expires_at)
    return jsonify(body.model_dump(mode="json"))


@blueprint.post("/auth/logout")
@spec.validate(resp=Responses(HTTP_204=None), tags=[TAG], security=[])
def logout() -> Response:
    """End the browser session (its cookie stops working at once). Always succeeds."""
    auth = g.get("auth_session")
    if auth is not None:
        accounts.end_session(db(), auth.id)
    response = make_response("", 204)
    clear_session_cookie(response)
    return response


@blueprint.post("/auth/password")
@login_required
@limiter.limit(auth_limit)
@spec.validate(json=PasswordChange, resp=Responses(HTTP_204=None, HTTP_422=None), tags=[TAG])
def change_password(json: PasswordChange) -> Response:
    """Change your password. Every other browser session of yours ends."""
    auth = g.get("auth_session")
    try:
        accounts.change_password(
            db(), require_user(), json.current_password, json.new_password, keep_session_id=auth.id if auth else None
        )
    except accounts.AccountError as error:
        raise _account_problem(error) from None
    return make_response("", 204)


@blueprint.get("/me")
@login_required
@spec.validate(resp=Responses(HTTP_200=UserOut), tags=[TAG])
def me() -> Response:
    """Your account."""
    return jsonify(user_out(require_user()))


@blueprint.patch("/me")
@login_required
@spec.validate(json=MeUpdate, resp=Responses(HTTP_200=UserOut, HTTP_422=None), tags=[TAG])
def update_me(json: MeUpdate) -> Response:
    """Change your sharing setting (who may traverse your connections in path queries)."""
    user = require_user()
    accounts.set_sharing(db(), user, Sharing(json.sharing))
    return jsonify(user_out(user))


@blueprint.post("/me/delete")
@login_required
@limiter.limit(auth_limit)
@spec.validate(json=AccountDeletion, resp=Responses(HTTP_200=Deleted, HTTP_422=None), tags=[TAG])
def delete_me(json: AccountDeletion) -> Response:
    """Delete your account and everything you own (contacts, sources, imports, tokens, your edges).

    A POST (not DELETE /v1/me) because it carries your password as confirmation in the body.
    """
    user = require_user()
    try:
        accounts.confirm_password(user, json.password)
    except accounts.AccountError as error:
        raise _account_problem(error) from None
    counts = ownership.delete_account(db(), user)
    response = jsonify(Deleted(deleted=counts).model_dump())
    clear_session_cookie(response)
    return response


@blueprint.get("/tokens")
@login_required
@spec.validate(query=PageQuery, resp=Responses(HTTP_200=Page[TokenOut]), tags=[TAG])
def list_tokens(query: PageQuery) -> Response:
    """Your API tokens, newest first (the secrets themselves are never shown again)."""
    return page_response(select(ApiToken).where(ApiToken.user_id == require_user().id), ApiToken.id, query, token_out)


@blueprint.post("/tokens")
@login_required
@limiter.limit(auth_limit)
@spec.validate(json=TokenCreate, resp=Responses(HTTP_201=TokenCreated, HTTP_422=None), tags=[TAG])
def create_token(json: TokenCreate) -> Response:
    """Create a personal API token. The response holds the token: it is shown only once."""
    try:
        new = accounts.create_token(db(), require_user(), json.name)
    except accounts.AccountError as error:
        raise _account_problem(error) from None
    return jsonify({**token_out(new.token), "token": new.secret}), 201


def _own_token(token_id: int) -> ApiToken:
    return owned_or_404(ApiToken, token_id, "API token")


@blueprint.get("/tokens/<int:token_id>")
@login_required
@spec.validate(resp=Responses(HTTP_200=TokenOut, HTTP_404=None), tags=[TAG])
def get_token(token_id: int) -> Response:
    """One of your API tokens."""
    return jsonify(token_out(_own_token(token_id)))


@blueprint.delete("/tokens/<int:token_id>")
@login_required
@spec.validate(resp=Responses(HTTP_204=None, HTTP_404=None), tags=[TAG])
def revoke_token(token_id: int) -> Response:
    """Revoke an API token; it stops working at once."""
    accounts.revoke_token(db(), _own_token(token_id))
    return make_response("", 204)
