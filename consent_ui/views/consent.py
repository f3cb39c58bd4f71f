"""``/consent``: may this application have these permissions?

The authorization server sends the browser here with ``?consent_challenge=…`` after login.

1. GET reads the consent request. When the user agreed before and asked to remember it
   (``skip``), or an administrator marked the client as trusted (``client.skip_consent``),
   accept at once with everything requested.
2. Otherwise show the application and one checkbox per requested scope.
3. POST "Allow" grants only the ticked scopes (never one that was not requested) and puts
   into the ID token only the claims those scopes release; "Deny" rejects.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from consent_ui.admin_api import ConsentRequest
from consent_ui.forms import ConsentForm
from consent_ui.scopes import explain
from consent_ui.services import services
from consent_ui.views.common import (
    challenge_from_form,
    challenge_from_query,
    display_name,
    follow,
)

bp = Blueprint("consent", __name__)


@bp.get("/consent")
def show_form():
    challenge = challenge_from_query("consent_challenge")
    consent_request = services().admin_api.get_consent_request(challenge)
    client = consent_request.client
    if consent_request.skip or (client and client.skip_consent):
        everything = list(consent_request.requested_scope)
        return grant(challenge, consent_request, everything, remember=False)
    form = ConsentForm(challenge=challenge, grant_scope=list(consent_request.requested_scope))
    form.grant_scope.choices = [(scope, scope) for scope in consent_request.requested_scope]
    return render_template(
        "consent.html",
        form=form,
        client=client,
        explanations={scope: explain(scope) for scope in consent_request.requested_scope},
        signed_in_as=display_name(consent_request.subject),
        device=consent_request.from_device,  # a device is asking: say so (RFC 8628 §5.4)
    )


@bp.post("/consent")
def submit_form():
    form = ConsentForm()
    challenge = challenge_from_form(form, "consent_challenge")
    api = services().admin_api
    if form.deny.data:
        description = "The user denied the request."
        return follow(api.reject_consent(challenge, "access_denied", description))
    if not form.allow.data:
        abort(400)
    # The request, not the form, says what was asked: a ticked scope that was not
    # requested (a tampered form) is simply not granted.
    consent_request = api.get_consent_request(challenge)
    ticked = set(form.grant_scope.data or [])
    granted = [scope for scope in consent_request.requested_scope if scope in ticked]
    return grant(challenge, consent_request, granted, remember=bool(form.remember.data))


def grant(challenge: str, consent_request: ConsentRequest, scopes: list[str], remember: bool):
    api, users = services().admin_api, services().users
    user = users.get(consent_request.subject)
    if user is None:
        # The account is gone since it logged in: nobody is left to consent.
        return follow(api.reject_consent(challenge, "access_denied", "Unknown user."))
    redirect_to = api.accept_consent(
        challenge,
        grant_scope=scopes,
        # The server checks the audience against the client's allowed list; echo it.
        grant_access_token_audience=list(consent_request.requested_access_token_audience),
        remember=remember,  # skip this page next time the same scopes are asked ...
        remember_for=current_app.config["REMEMBER_FOR"],  # ... for this many seconds
        id_token_claims=users.claims(user, scopes),
        # Extra data shown when the access token is introspected; keep secrets out of it.
        access_token_claims={},
    )
    return follow(redirect_to)
