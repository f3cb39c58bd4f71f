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
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import logout_user

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


@bp.get("/logout")
def show_form():
    challenge = challenge_from_query("logout_challenge")
    logout_request = services().admin_api.get_logout_request(challenge)
    return render_template(
        "logout.html",
        form=LogoutForm(challenge=challenge),
        client=logout_request.client,
        signed_in_as=display_name(logout_request.subject),
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
