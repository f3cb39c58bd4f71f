"""An example user store: users in a SQLite table, passwords as argon2id hashes.

The second store of this template, beside the single user of ``users.py``. Use it as is, or
as the model for your own database (the three ``UserStore`` methods are all that matter)::

    consent-ui add-user ann@example.com --name "Ann Lee"      # asks for the password
    CONSENT_UI_USER_STORE=consent_ui.sqlite_users:from_env consent-ui

The file is ``CONSENT_UI_USER_DB`` (default ``consent-ui-users.sqlite``, in the directory
the command runs in). ``add-user`` creates it; the server only opens it, so a mistyped
path is an error at start-up rather than an empty user list. Each user gets a random
``subject`` (their stable id, the ``sub`` of every token), so an email can change later.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import uuid
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from urllib.request import pathname2url

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from consent_ui.users import User, standard_claims

DB_VARIABLE = "CONSENT_UI_USER_DB"
DEFAULT_DB = "consent-ui-users.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    subject TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,  -- the email trimmed and case-folded: one account each
    name TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL
)
"""
SELECT_BY_EMAIL = (
    "SELECT subject, email, name, email_verified, password_hash FROM users WHERE email_key = ?"
)
SELECT_BY_SUBJECT = "SELECT subject, email, name, email_verified FROM users WHERE subject = ?"


class DuplicateEmail(ValueError):
    """``add_user`` with an email that already has an account."""


def email_key(email: str) -> str:
    return email.strip().casefold()


class SqliteUserStore:
    def __init__(self, path: str | Path, hasher: PasswordHasher | None = None):
        self.path = str(path)
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 parameters
        # Checked when the email is unknown: a wrong email costs as much as a wrong password.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def create(cls, path: str | Path, hasher: PasswordHasher | None = None) -> SqliteUserStore:
        """The store at ``path``, creating the file and its table when missing."""
        with closing(sqlite3.connect(str(path))) as db, db:
            db.execute(SCHEMA)
        return cls(path, hasher)

    @classmethod
    def open(cls, path: str | Path, hasher: PasswordHasher | None = None) -> SqliteUserStore:
        """The existing store at ``path``; ValueError (one line) when there is none."""
        store = cls(path, hasher)
        try:
            with closing(store._connect()) as db:
                db.execute("SELECT 1 FROM users LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise ValueError(
                f"no user database at {str(path)!r} ({exc}); create it with "
                "'consent-ui add-user EMAIL'"
            ) from None
        return store

    # -- the UserStore protocol ----------------------------------------------------------

    def authenticate(self, email: str, password: str) -> User | None:
        with closing(self._connect()) as db:
            row = db.execute(SELECT_BY_EMAIL, (email_key(email),)).fetchone()
        stored = row[4] if row else self._dummy_hash
        if not self._verify(stored, password) or row is None:
            return None
        if self.hasher.check_needs_rehash(stored):  # older parameters: upgrade the hash
            self._set_password_hash(row[0], self.hasher.hash(password))
        return _user(row)

    def get(self, subject: str) -> User | None:
        with closing(self._connect()) as db:
            row = db.execute(SELECT_BY_SUBJECT, (subject,)).fetchone()
        return _user(row) if row else None

    def claims(self, user: User, scopes: Iterable[str]) -> dict:
        return standard_claims(user, scopes)

    # -- managing users (``consent-ui add-user``) ----------------------------------------

    def add_user(self, email: str, name: str, password: str, email_verified=True) -> User:
        subject = str(uuid.uuid4())
        row = (subject, email.strip(), email_key(email), name, int(email_verified))
        try:
            with closing(self._connect()) as db, db:
                db.execute(
                    "INSERT INTO users (subject, email, email_key, name, email_verified,"
                    " password_hash) VALUES (?, ?, ?, ?, ?, ?)",
                    (*row, self.hasher.hash(password)),
                )
        except sqlite3.IntegrityError:
            raise DuplicateEmail(f"a user with the email {email.strip()!r} exists") from None
        return _user((subject, email.strip(), name, email_verified))

    # -- plumbing ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never create an empty database by accident. One connection per call, so
        # the store is safe to share between the server's threads.
        uri = f"file:{pathname2url(os.path.abspath(self.path))}?mode=rw"
        return sqlite3.connect(uri, uri=True, timeout=5)

    def _set_password_hash(self, subject: str, password_hash: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute(
                "UPDATE users SET password_hash = ? WHERE subject = ?", (password_hash, subject)
            )

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def _user(row) -> User:
    subject, email, name, verified = row[:4]
    parts = name.split()
    return User(
        subject=subject,
        email=email,
        name=name,
        email_verified=bool(verified),
        given_name=parts[0] if len(parts) > 1 else "",
        family_name=" ".join(parts[1:]) if len(parts) > 1 else "",
        preferred_username=email.split("@", 1)[0],
    )


def database_path(environ=None) -> str:
    env = os.environ if environ is None else environ
    return env.get(DB_VARIABLE, "").strip() or DEFAULT_DB


def from_env() -> SqliteUserStore:
    """The factory for ``CONSENT_UI_USER_STORE=consent_ui.sqlite_users:from_env``."""
    return SqliteUserStore.open(database_path())
