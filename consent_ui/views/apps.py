"""``/apps``: the applications you allowed, and a way to forget each one.

"Remember this decision" makes the consent page skip itself from then on; this page is how
a user takes that back. It lists the subject's consent sessions (admin API) per client, and
"Forget" revokes them: the next login asks for consent again, and the server revokes every
token issued under them.

Who is asking? This app keeps no account session of its own, and a subject in the URL would
let anyone read or revoke anyone's grants. So the page asks for the password (the same
throttled check as ``/login``), then keeps the subject in the signed session cookie for
``SIGN_IN_TTL`` seconds. Every action reads the subject from there, never from the request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_login import current_user

from consent_ui.admin_api import Client, ConsentSession
from consent_ui.errors import error_page
from consent_ui.forms import AppsSignInForm, ForgetAppForm, SignOutForm
from consent_ui.scopes import explain
from consent_ui.services import services
from consent_ui.signin import check_password
from consent_ui.users import User

bp = Blueprint("apps", __name__)

SESSION_KEY = "apps_sign_in"  # [subject, signed-in-at (Unix time)]
SIGN_IN_TTL = 10 * 60  # seconds: a page for a few clicks, not a standing session


@dataclass(frozen=True)
class GrantedApp:
    """One client, with what all its unrevoked consent sessions granted."""

    client: Client
    scopes: tuple[str, ...]
    remembered: bool  # at least one "Remember this decision": the consent page skips


@bp.get("/apps")
def show():
    user = signed_in_user()
    if user is None:
        email = current_user.email if current_user.is_authenticated else ""
        return render_sign_in(AppsSignInForm(email=email))
    apps = granted_apps(services().admin_api.list_consent_sessions(user.subject))
    return render_template(
        "apps.html",
        user=user,
        apps=apps,
        sign_out=SignOutForm(),
        explain=explain,
    )


@bp.post("/apps/sign-in")
def sign_in():
    form = AppsSignInForm()
    if not form.validate():
        return render_sign_in(form, status=400)
    attempt = check_password(form.email.data.strip(), form.password.data)
    if attempt.wait:
        page, status = render_sign_in(form, attempt.message(), 429)
        return page, status, {"Retry-After": str(attempt.retry_after)}
    if attempt.user is None:
        return render_sign_in(form, attempt.message())
    session[SESSION_KEY] = [attempt.user.subject, int(time.time())]
    return redirect(url_for("apps.show"), code=303)


@bp.post("/apps/forget")
def forget():
    user = signed_in_user()
    if user is None:  # signed out meanwhile (or never): sign in, then try again
        return redirect(url_for("apps.show"), code=303)
    form = ForgetAppForm()
    if not form.validate():
        return error_page(400, "This app cannot be forgotten", "The form named no valid app.")
    client_id = form.client_id.data
    # Only a client this user granted: the list, not the form, says which exist.
    apps = granted_apps(services().admin_api.list_consent_sessions(user.subject))
    app = next((app for app in apps if app.client.client_id == client_id), None)
    if app is None:
        return error_page(404, "No such app", "You have not allowed this app, or forgot it.")
    services().admin_api.revoke_consent_sessions(user.subject, client_id)
    flash(f"{app.client.name} is forgotten: it will ask for your permission next time.")
    return redirect(url_for("apps.show"), code=303)


@bp.post("/apps/sign-out")
def sign_out():
    forget_sign_in()  # CSRFProtect checked the form's token before this view ran
    return redirect(url_for("apps.show"), code=303)


def signed_in_user() -> User | None:
    """The user who signed in on this page within SIGN_IN_TTL, if they still exist."""
    value = session.get(SESSION_KEY)
    if not (isinstance(value, list) and len(value) == 2):
        return None
    subject, since = value
    if not isinstance(subject, str) or not isinstance(since, int):
        return None
    if not 0 <= time.time() - since < SIGN_IN_TTL:
        forget_sign_in()
        return None
    return services().users.get(subject)


def forget_sign_in() -> None:
    """End the sign-in of this page (also on logout)."""
    session.pop(SESSION_KEY, None)


def granted_apps(sessions: list[ConsentSession]) -> list[GrantedApp]:
    """One entry per client, newest first (the server lists sessions newest first)."""
    found: dict[str, GrantedApp] = {}
    for consent in sessions:
        if consent.client is None or not consent.client.client_id:
            continue  # the client was deleted: nothing to show, nothing left to forget
        known = found.get(consent.client.client_id)
        scopes = known.scopes if known else ()
        found[consent.client.client_id] = GrantedApp(
            client=known.client if known else consent.client,
            scopes=scopes + tuple(s for s in consent.grant_scope if s not in scopes),
            remembered=(known is not None and known.remembered) or consent.remember,
        )
    return list(found.values())


def render_sign_in(form: AppsSignInForm, error: str = "", status: int = 200):
    return render_template("apps_sign_in.html", form=form, error=error), status
