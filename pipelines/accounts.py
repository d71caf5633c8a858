"""Accounts: users, passwords (argon2), browser sessions and personal API tokens.

Secrets handed to clients (session cookies, API tokens) are random and high-entropy, so the database keeps
only their SHA-256: a database dump lets nobody log in. Passwords are hashed with argon2id.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pipelines.models import ApiToken, AuthSession, Identity, IdentityKind, Person, Sharing, User, utcnow
from pipelines.projections import notify_people_changed

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256
TOKEN_PREFIX = "sdg_"

_hasher = PasswordHasher()
# Verifying against this keeps "no such user" as slow as "wrong password" (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a real password")


class AccountError(ValueError):
    """A request about an account that cannot be honoured; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EmailTaken(AccountError):
    """Another account already uses this email."""


class WrongPassword(AccountError):
    """The password given to confirm a sensitive change is not the account's password."""


def normalize_email(raw: str) -> str:
    """Validate syntax (no DNS lookups) and return the normalized address, domain IDNA-encoded and lowercased.

    Addresses under `.test` are accepted (RFC 2606 test domains, used by test suites and demos).
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise AccountError(str(exc), field="email") from None
    local, _, _domain = result.normalized.rpartition("@")
    return f"{local.lower()}@{result.ascii_domain.lower()}"


def check_password_policy(password: str, field: str = "password") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(f"The password needs at least {PASSWORD_MIN_LENGTH} characters.", field=field)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(f"The password may have at most {PASSWORD_MAX_LENGTH} characters.", field=field)


def hash_secret(secret: str) -> str:
    """SHA-256 of a random token (tokens are high-entropy, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(session: Session, email: str, password: str) -> User:
    """Create an account with its own person node.

    If someone already imported this email address, the person they know becomes the new user's own node
    (unless that person already belongs to another account): that is how a new user appears in the graph
    where others already know them.
    """
    email = normalize_email(email)
    check_password_policy(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken("An account with this email already exists.", field="email")
    person = _person_for_email(session, email)
    user = User(email=email, password_hash=_hasher.hash(password), person_id=person.id)
    session.add(user)
    session.flush()
    notify_people_changed(session, [person.id])  # the projections learn the new node (and its new owner)
    return user


def _person_for_email(session: Session, email: str) -> Person:
    identity = session.scalar(select(Identity).where(Identity.kind == IdentityKind.email, Identity.value == email))
    if identity is not None:
        person = session.get(Person, identity.person_id)
        while person is not None and person.merged_into is not None:
            person = session.get(Person, person.merged_into)
        taken = person is not None and session.scalar(select(User.id).where(User.person_id == person.id))
        if person is not None and not taken:
            return person
    person = Person(display_name=email.split("@", 1)[0])
    session.add(person)
    session.flush()
    if identity is None:
        session.add(Identity(person_id=person.id, kind=IdentityKind.email, value=email))
        session.flush()
    return person


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password match, or None (same cost either way)."""
    try:
        email = normalize_email(email)
    except AccountError:
        _verify(_DUMMY_HASH, password)
        return None
    user = session.scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(session: Session, user: User, current: str, new: str, *, keep_session_id: int | None) -> None:
    """Change the password after checking the current one; every other session of the user ends."""
    if not user.password_hash or not _verify(user.password_hash, current):
        raise WrongPassword("The current password is not correct.", field="current_password")
    check_password_policy(new, field="new_password")
    user.password_hash = _hasher.hash(new)
    query = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    session.execute(query)


def confirm_password(user: User, password: str, field: str = "password") -> None:
    """Raise WrongPassword unless `password` is the user's (confirmation of a sensitive action)."""
    if not user.password_hash or not _verify(user.password_hash, password):
        raise WrongPassword("The password is not correct.", field=field)


def set_sharing(session: Session, user: User, sharing: Sharing) -> None:
    """Change who may traverse the user's connections; the projections learn it after commit."""
    if user.sharing != sharing:
        user.sharing = sharing
        notify_people_changed(session, [user.person_id])


def set_password(session: Session, user: User, new: str) -> None:
    """Set a password without the current one (operator CLI)."""
    check_password_policy(new)
    user.password_hash = _hasher.hash(new)


# --- browser sessions ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    csrf_token: str
    expires_at: datetime


def start_session(session: Session, user: User, days: int) -> NewSession:
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=days)
    session.add(
        AuthSession(user_id=user.id, token_hash=hash_secret(cookie_value), csrf_token=csrf_token, expires_at=expires_at)
    )
    session.flush()
    return NewSession(cookie_value, csrf_token, expires_at)


def session_for_cookie(session: Session, cookie_value: str) -> AuthSession | None:
    """The live session behind a cookie value (expired sessions are deleted on sight)."""
    auth = session.scalar(select(AuthSession).where(AuthSession.token_hash == hash_secret(cookie_value)))
    if auth is None:
        return None
    if auth.expires_at <= utcnow():
        session.delete(auth)
        return None
    return auth


def end_session(session: Session, auth_session_id: int) -> None:
    session.execute(delete(AuthSession).where(AuthSession.id == auth_session_id))


# --- API tokens ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str


def create_token(session: Session, user: User, name: str) -> NewToken:
    """A new personal API token; the secret is returned here and never again."""
    name = name.strip()
    if not name:
        raise AccountError("Give the token a name, so you can recognise it later.", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], token_hash=hash_secret(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def user_for_token(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The user a bearer token belongs to, if the token exists and is not revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    found = session.execute(  # one round trip for both: every bearer request starts here
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_secret(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    token, user = found
    last_used = token.last_used_at
    if last_used is None or utcnow() - last_used > timedelta(minutes=1):  # at most one write a minute
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=utcnow()))
    return user, token


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
