"""``/admin/harness/*``: the test helpers on the admin port, registered in harness mode
only (``authserver serve`` answers these paths with 404).

decisions (queue the next login's outcome), tokens (mint without a browser), requests
(what the public endpoints received), clock (freeze or move "now"), users (claims at run
time) and reset (back to the configuration between tests)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from authserver.domain.grants_allowed import scopes_not_allowed
from authserver.harness.config import seconds_of
from authserver.harness.decisions import (
    DecisionError,
    check_claims,
    check_subject,
    parse_decision,
)
from authserver.harness.minting import mint
from authserver.harness.seed import reset_database
from authserver.web.bodies import read_json
from authserver.web.errors import ApiError, render_exception
from authserver.web.transaction import after_commit, db_session

bp = Blueprint("harness", __name__)


def _state():
    return current_app.extensions["harness"]


def _services():
    return current_app.extensions["authserver"]


def _no_content():
    return "", 204


@bp.errorhandler(DecisionError)
def _bad_document(exc: DecisionError):
    return render_exception(ApiError(exc.error, str(exc), 400))


# -- decisions ------------------------------------------------------------------------------


@bp.post("/harness/decisions")
def queue_decision():
    decision = parse_decision(read_json())
    if not decision.denies and _state().user(decision.subject) is None:
        raise ApiError(
            "invalid_request",
            f"No user {decision.subject!r}: create it first with PUT /admin/harness/users/SUBJECT.",
        )
    if decision.client_id is not None:
        stored = _services().clients.find(db_session(), decision.client_id)
        if stored is None:
            raise ApiError("invalid_client", "client_id names no client.")
        extra = scopes_not_allowed(stored.client, decision.grant_scope or ())
        if extra:
            raise ApiError(
                "invalid_scope", f"The client may not have the scope(s): {' '.join(extra)}."
            )
    _state().queue(decision)
    return jsonify(decision.to_json()), 201


@bp.get("/harness/decisions")
def list_decisions():
    return jsonify([decision.to_json() for decision in _state().pending_decisions()])


@bp.delete("/harness/decisions")
def clear_decisions():
    _state().clear_decisions()
    return _no_content()


# -- minted tokens --------------------------------------------------------------------------


@bp.post("/harness/tokens")
def mint_tokens():
    answer = mint(_services(), db_session(), _state(), read_json())
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the request log ------------------------------------------------------------------------


@bp.get("/harness/requests")
def list_requests():
    return jsonify(_state().requests(request.args.get("client_id") or None))


@bp.delete("/harness/requests")
def clear_requests():
    _state().clear_requests()
    return _no_content()


# -- the clock ------------------------------------------------------------------------------


@bp.get("/harness/clock")
def get_clock():
    return _clock_json()


@bp.post("/harness/clock")
def move_clock():
    document = read_json()
    actions = set(document) & {"advance", "freeze", "reset"}
    if set(document) - actions or len(actions) != 1:
        raise ApiError(
            "invalid_request",
            'Send one of {"advance": "1h"}, {"freeze": true|false}, {"reset": true}.',
        )
    clock = _services().clock
    if "advance" in document:
        try:
            clock.advance(seconds_of(document["advance"]))
        except ValueError as exc:
            raise ApiError("invalid_request", f"advance: {exc}") from None
    elif not isinstance(document.get("freeze", document.get("reset")), bool):
        raise ApiError("invalid_request", "freeze and reset take true or false.")
    elif document.get("freeze") is True:
        clock.freeze()
    elif document.get("freeze") is False:
        clock.unfreeze()
    elif document.get("reset"):
        clock.reset()
    return _clock_json()


def _clock_json():
    clock = _services().clock
    return jsonify(now=clock.now(), frozen=clock.frozen, offset=round(clock.offset))


# -- users ----------------------------------------------------------------------------------


@bp.get("/harness/users")
def list_users():
    return jsonify([_user_json(s, c) for s, c in _state().users().items()])


@bp.get("/harness/users/<path:subject>")
def get_user(subject: str):
    claims = _state().user(subject)
    if claims is None:
        raise ApiError("not_found", "No such user.", 404)
    return jsonify(_user_json(subject, claims))


@bp.put("/harness/users/<path:subject>")
def put_user(subject: str):
    subject = check_subject(subject)
    claims = check_claims(read_json())
    created = _state().set_user(subject, claims)
    return jsonify(_user_json(subject, claims)), 201 if created else 200


@bp.delete("/harness/users/<path:subject>")
def delete_user(subject: str):
    if not _state().delete_user(subject):
        raise ApiError("not_found", "No such user.", 404)
    return _no_content()


def _user_json(subject: str, claims: dict) -> dict:
    return {"subject": subject, "claims": claims}


# -- reset ----------------------------------------------------------------------------------


@bp.post("/harness/reset")
def reset():
    changed = reset_database(db_session(), current_app.extensions["harness_clients"])
    directory = _services().clients
    after_commit(lambda: [directory.forget(client_id) for client_id in changed])
    _state().reset()
    _services().clock.reset()
    return _no_content()
