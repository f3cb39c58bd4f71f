"""Users: the swap point of this template.

The views need three things from your user database, described by ``UserStore``:
check a password, find a user by id, and say which claims a scope releases. The default,
``SingleUserStore``, holds one user from the environment (``foo@bar.com`` / ``foobar`` unless
you change it). To use your own database, write a class with the same three methods and
name a factory for it in ``CONSENT_UI_USER_STORE=module:factory`` (``store_loader.py``), or
pass it to ``create_app(user_store=...)``; README.md has a short example, and
``sqlite_users.py`` a second store (a SQLite table) to copy.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``). Nothing here imports
Flask: this module is plain Python you can test on its own.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True)
class User:
    """A person who can log in. ``subject`` is their stable id: it becomes the ``sub`` of
    every token, so never change it and never give it to someone else later."""

    subject: str
    email: str
    name: str
    email_verified: bool = False
    given_name: str = ""
    family_name: str = ""
    preferred_username: str = ""

    # Flask-Login reads these four to remember who is signed in to this app.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return self.subject


class UserStore(Protocol):
    """What the login and consent views need from a user database."""

    def authenticate(self, email: str, password: str) -> User | None:
        """The user with this email and password, or None. Take the same time either way."""

    def get(self, subject: str) -> User | None:
        """The user with this subject (stable id), or None if there is none (any more)."""

    def claims(self, user: User, scopes: Iterable[str]) -> dict:
        """The ID token claims the granted ``scopes`` release about ``user``."""


def standard_claims(user: User, scopes: Iterable[str]) -> dict:
    """The claims of OpenID Connect Core 1.0 §5.4 for the ``profile`` and ``email`` scopes.
    A scope the user did not grant releases nothing."""
    granted = set(scopes)
    claims: dict = {}
    if "profile" in granted:
        claims["name"] = user.name
        for key in ("given_name", "family_name", "preferred_username"):
            if getattr(user, key):
                claims[key] = getattr(user, key)
    if "email" in granted:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    return claims


def same_email(a: str, b: str) -> bool:
    """Emails compared case-insensitively, in constant time."""
    return hmac.compare_digest(a.strip().casefold().encode(), b.strip().casefold().encode())


class SingleUserStore:
    """One user, configured by environment variables: the demo default."""

    def __init__(self, user: User, password_hash: str, hasher: PasswordHasher | None = None):
        self.user = user
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 parameters
        self._password_hash = password_hash
        # Checked when the email is unknown, so a wrong email costs as much time as a wrong
        # password and response times do not tell which emails have an account.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(
        cls,
        email: str,
        name: str,
        password: str | None = None,
        password_hash: str | None = None,
        hasher: PasswordHasher | None = None,
    ) -> SingleUserStore:
        """The user of CONSENT_UI_USER_*; a plain password is hashed here and not kept."""
        hasher = hasher or PasswordHasher()
        if not password_hash:
            if not password:
                raise ValueError("give a password or a password hash")
            password_hash = hasher.hash(password)
        return cls(configured_user(email, name), password_hash, hasher)

    @property
    def password_hash(self) -> str:
        return self._password_hash

    def authenticate(self, email: str, password: str) -> User | None:
        known = same_email(email, self.user.email)
        stored = self._password_hash if known else self._dummy_hash
        if not self._verify(stored, password) or not known:
            return None
        if self.hasher.check_needs_rehash(stored):
            # The hash was made with older (weaker) parameters: replace it now that we know
            # the password. A real store would save it here, e.g.
            # UPDATE users SET password_hash = :new WHERE id = :subject.
            self._password_hash = self.hasher.hash(password)
        return self.user

    def get(self, subject: str) -> User | None:
        return self.user if subject == self.user.subject else None

    def claims(self, user: User, scopes: Iterable[str]) -> dict:
        return standard_claims(user, scopes)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def configured_user(email: str, name: str) -> User:
    """The single user; its subject is its email, as in Hydra's reference app. Given and
    family names are guessed from "First Last"; a real store keeps them as entered."""
    parts = name.split()
    given, family = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else ("", "")
    return User(
        subject=email,
        email=email,
        name=name,
        email_verified=True,  # the operator typed it in; a real store checks it by mail
        given_name=given,
        family_name=family,
        preferred_username=email.split("@", 1)[0],
    )
