"""``/logout``: do you really want to log out?

The authorization server sends the browser here with ``?logout_challenge=…`` when an
application asks to end the user's session (OpenID Connect RP-Initiated Logout).

1. GET reads the logout request and asks. Asking protects users from being logged out by
   any page that links to the logout URL.
2. POST "Yes" accepts (the server ends its session, then sends the browser on to the
   application) and signs the user out of this app too. With "forget" ticked it also
   revokes the subject's login sessions, as Hydra's ``DELETE …/sessions/login?subject=``
   does: a "Remember me" on any other browser is forgotten too. "No" rejects: the server
   answers nothing to follow, so we show a page saying the user is still logged in.

The question lists the apps the logout concerns: every client that got tokens in the login
session that ends (its consent sessions with ``login_session_id`` = the request's ``sid``),
and the client asking. Each says whether it will be told (OpenID Connect Back-Channel or
Front-Channel Logout). The list is a courtesy: if the admin API cannot give it, the page
says so and logging out works as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, abort, render_template
from flask_login import logout_user

from consent_ui.admin_api import AdminApiException, Client, LogoutRequest
from consent_ui.forms import LogoutForm
from consent_ui.services import services
from consent_ui.views.apps import forget_sign_in
from consent_ui.views.common import (
    challenge_from_form,
    challenge_from_query,
    display_name,
    follow,
)

bp = Blueprint("logout", __name__)
log = logging.getLogger(__name__)

MAX_APPS_SHOWN = 50


@dataclass(frozen=True)
class LoggedOutApp:
    client: Client

    @property
    def notified(self) -> str:
        """How the app learns of the logout, in a few plain words."""
        back = bool(self.client.backchannel_logout_uri)
        front = bool(self.client.frontchannel_logout_uri)
        if back and front:
            return "notified by the server and through your browser"
        if back:
            return "notified by the server"
        if front:
            return "notified through your browser"
        return "not notified: it keeps its own session until it expires"


@dataclass(frozen=True)
class LoggedOutApps:
    shown: list[LoggedOutApp]  # at most MAX_APPS_SHOWN
    hidden: int  # more apps found than shown
    complete: bool  # False: the server has more grants than we read, maybe more apps


@bp.get("/logout")
def show_form():
    challenge = challenge_from_query("logout_challenge")
    logout_request = services().admin_api.get_logout_request(challenge)
    return render_template(
        "logout.html",
        form=LogoutForm(challenge=challenge),
        client=logout_request.client,
        signed_in_as=display_name(logout_request.subject),
        apps=logged_out_apps(logout_request),
    )


@bp.post("/logout")
def submit_form():
    form = LogoutForm()
    challenge = challenge_from_form(form, "logout_challenge")
    api = services().admin_api
    if form.yes.data:
        # The subject comes from the server's request, never from the form; read it now,
        # as the challenge is gone once accepted.
        subject = api.get_logout_request(challenge).subject if form.forget.data else ""
        redirect_to = api.accept_logout(challenge)
        if subject:
            api.revoke_login_sessions(subject)
        logout_user()
        forget_sign_in()  # the "Your apps" page too
        return follow(redirect_to)
    if not form.no.data:
        abort(400)
    # Read the request first: once rejected, it is gone, and we want its client's link.
    logout_request = api.get_logout_request(challenge)
    api.reject_logout(challenge)
    return render_template("still_logged_in.html", client=logout_request.client)


def logged_out_apps(logout_request: LogoutRequest) -> LoggedOutApps | None:
    """The apps of the session that ends (the asking client first), or None when the admin
    API cannot say: never an error page, as this list must not stand in the way of logout."""
    if not (logout_request.subject and logout_request.sid):
        return None  # no session to ask about (and no sid would list every session)
    try:
        listing = services().admin_api.list_login_session_consents(
            logout_request.subject, logout_request.sid
        )
    except AdminApiException as exc:
        # The kind of failure only: the subject is personal data.
        log.warning("logout page shown without its apps: %s", type(exc).__name__)
        return None
    clients: dict[str, Client] = {}
    asking = logout_request.client
    for client in [asking, *(consent.client for consent in listing.sessions)]:
        if client is not None and client.client_id and client.client_id not in clients:
            clients[client.client_id] = client  # the first one's name is kept
    apps = [LoggedOutApp(client) for client in clients.values()]
    return LoggedOutApps(
        shown=apps[:MAX_APPS_SHOWN],
        hidden=max(len(apps) - MAX_APPS_SHOWN, 0),
        complete=listing.complete,
    )
