"""admin_api.AdminApi's consent and login sessions: Hydra's paths and parameters, paging
through ``Link: rel="next"``, and odd answers as typed errors."""

from __future__ import annotations

import json

import pytest
import requests

from consent_ui.admin_api import (
    PAGE_SIZE,
    AdminApi,
    AdminApiError,
    AdminApiUnreachable,
)

BASE = "http://hydra-admin:4445"
SESSIONS = BASE + "/admin/oauth2/auth/sessions"


def hydra_session(client_id="app", scopes=("openid",), remember=True):
    return {
        "consent_request": {"client": {"client_id": client_id, "client_name": client_id.title()}},
        "grant_scope": list(scopes),
        "remember": remember,
        "handled_at": "2026-12-01T10:00:00Z",
    }


class Pages:
    """A requests.Session stand-in answering each call with the next (status, body, link)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent: list[dict] = []

    def request(self, method, url, params=None, json=None, timeout=None):
        self.sent.append({"method": method, "url": url, "params": dict(params or {})})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body, link = answer
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else _dumps(body)
        if link:
            response.headers["Link"] = link
        return response


def _dumps(body) -> bytes:
    return json.dumps(body).encode() if body is not None else b""


def test_list_reads_every_page_from_our_own_base_url():
    next_link = '</admin/oauth2/auth/sessions/consent?page_token=2>; rel="next"'
    evil_next = '<http://evil.example/x?page_token=4>; rel="next"'
    session = Pages(
        (200, [hydra_session("a"), hydra_session("b")], next_link),
        (200, [hydra_session("c")], evil_next),
        (200, [], ""),
    )
    api = AdminApi(BASE, session=session)

    found = api.list_consent_sessions("foo@bar.com")

    assert [s.client.client_id for s in found] == ["a", "b", "c"]
    assert all(sent["url"] == SESSIONS + "/consent" for sent in session.sent)
    assert [sent["params"].get("page_token") for sent in session.sent] == [None, "2", "4"]
    assert session.sent[0]["params"] == {"subject": "foo@bar.com", "page_size": str(PAGE_SIZE)}


def test_list_reads_what_it_can_of_odd_entries():
    odd = [
        "not an object",
        {"consent_request": "x", "grant_scope": "openid"},
        {"consent_request": {"client": ["x"]}, "grant_scope": ["openid", 7]},
        hydra_session("app", ("openid", "email"), remember=False),
    ]
    api = AdminApi(BASE, session=Pages((200, odd, "")))

    found = api.list_consent_sessions("s")

    assert [(s.client, s.grant_scope) for s in found[:2]] == [(None, ()), (None, ("openid",))]
    assert found[2].client.name == "App"
    assert (found[2].grant_scope, found[2].remember) == (("openid", "email"), False)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((200, {"not": "a list"}, ""), AdminApiError),
        ((200, b"<html>", ""), AdminApiError),
        ((400, {"error": "invalid_request"}, ""), AdminApiError),
        ((503, None, ""), AdminApiUnreachable),
        (requests.ConnectionError("refused"), AdminApiUnreachable),
    ],
    ids=["object", "not JSON", "400", "503", "no connection"],
)
def test_list_failures_are_typed(answer, error):
    api = AdminApi(BASE, session=Pages(answer))

    with pytest.raises(error):
        api.list_consent_sessions("s")


def test_revoke_consent_sessions_by_subject_and_client():
    session = Pages((204, None, ""))

    AdminApi(BASE, session=session).revoke_consent_sessions("foo@bar.com", "app")

    assert session.sent == [
        {
            "method": "DELETE",
            "url": SESSIONS + "/consent",
            "params": {"subject": "foo@bar.com", "client": "app"},
        }
    ]


def test_revoke_login_sessions_by_subject():
    session = Pages((204, None, ""))

    AdminApi(BASE, session=session).revoke_login_sessions("foo@bar.com")

    assert session.sent == [
        {"method": "DELETE", "url": SESSIONS + "/login", "params": {"subject": "foo@bar.com"}}
    ]


def test_a_failed_revoke_is_an_error():
    session = Pages((400, {"error": "invalid_request"}, ""))

    with pytest.raises(AdminApiError):
        AdminApi(BASE, session=session).revoke_login_sessions("")
