"""Small helpers the three views share."""

from __future__ import annotations

from flask import redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm

from consent_ui.admin_api import AdminApiError
from consent_ui.errors import MalformedChallenge, MissingChallenge, is_web_url
from consent_ui.services import services

MAX_CHALLENGE_LENGTH = 1024  # Hydra's are about 300 characters; authserver's 43


def challenge_from_query(name: str) -> str:
    """The ``login_challenge`` (or consent/logout) the authorization server put in the URL."""
    return _checked(request.args.get(name, ""), name)


def challenge_from_form(form: FlaskForm, name: str) -> str:
    """The same challenge, carried through the page in a hidden field."""
    return _checked(form.challenge.data or "", name)


def _checked(value: str, name: str) -> str:
    """A challenge is a short token: anything else is the visitor's mistake (400), not
    something to forward to the authorization server."""
    challenge = value.strip()
    if not challenge:
        raise MissingChallenge(name)
    if (
        len(challenge) > MAX_CHALLENGE_LENGTH
        or not challenge.isascii()
        or not challenge.isprintable()
    ):
        raise MalformedChallenge(name)
    return challenge


def follow(redirect_to: str):
    """Send the browser to the ``redirect_to`` the admin API returned, and nowhere else."""
    if not is_web_url(redirect_to):
        raise AdminApiError(200, "invalid_response", "redirect_to is not an http(s) URL.")
    return redirect(redirect_to, code=302)


def web_url(value: str | None) -> str:
    """Template filter: the URL if it is http(s), else "" (no javascript: links or logos)."""
    return value if value and is_web_url(value) else ""


def display_name(subject: str) -> str:
    """Who the page is for: the user signed in to this app (Flask-Login), or else the user
    the authorization server logged in (e.g. remembered from an earlier visit)."""
    if current_user.is_authenticated and current_user.get_id() == subject:
        return current_user.name
    user = services().users.get(subject)
    return user.name if user else subject
