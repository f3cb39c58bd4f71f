"""``consent-ui add-user EMAIL [--name NAME] [--db PATH]``: a user for the SQLite example
store (``sqlite_users.py``).

The password is never an argument (it would sit in the shell history and in ``ps``): it is
asked twice on a terminal, or read as the first line of stdin otherwise
(``printf '%s\\n' "$pw" | consent-ui add-user ann@example.com``).
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys

from consent_ui.sqlite_users import DB_VARIABLE, DuplicateEmail, SqliteUserStore, database_path

MAX_EMAIL, MAX_NAME, MAX_PASSWORD = 254, 200, 1024  # as the login form allows


class BadInput(ValueError):
    """A value the command refuses; the message is one line for the person typing."""


def add_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", help="the email to log in with")
    parser.add_argument("--name", default="", help="the name claim (default: the email's name)")
    parser.add_argument(
        "--db", default="", help=f"the SQLite file (env {DB_VARIABLE}, default {database_path({})})"
    )


def add_user(args: argparse.Namespace) -> int:
    path = args.db or database_path()
    try:
        email = checked_email(args.email)
        name = checked_text("name", args.name.strip() or email.split("@", 1)[0], MAX_NAME)
        password = read_password()
        user = SqliteUserStore.create(path).add_user(email, name, password)
    except (BadInput, DuplicateEmail) as exc:
        print(f"consent-ui add-user: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, BadInput) else 1
    except (sqlite3.Error, OSError) as exc:
        print(f"consent-ui add-user: cannot write {path!r}: {exc}", file=sys.stderr)
        return 1
    print(f"added {user.email} (subject {user.subject}) to {path}")
    return 0


def checked_email(value: str) -> str:
    email = checked_text("email", value.strip(), MAX_EMAIL)
    local, at, domain = email.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in email):
        raise BadInput(f"{email!r} is not an email address")
    return email


def checked_text(what: str, value: str, limit: int) -> str:
    if not value or len(value) > limit or not value.isprintable():
        raise BadInput(f"the {what} must be 1 to {limit} printable characters")
    return value


def read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise BadInput("the two passwords differ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return checked_text("password", password, MAX_PASSWORD)
