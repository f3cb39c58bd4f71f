"""/logout lists the apps the logout concerns: the clients of the login session (``sid``)
that ends, and the one asking. The list never stands in the way: if the admin API cannot
give it, the page says so and the user can still log out.

The first tests use the fake admin API of conftest; the last ones the real ``AdminApi``
over a ``requests.Session`` whose transport answers like Hydra, to see the query it sends
and how it takes odd answers.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from consent_ui import create_app
from consent_ui.admin_api import (
    LIST_TIMEOUT,
    AdminApi,
    AdminApiError,
    AdminApiUnreachable,
    ChallengeNotFound,
)
from consent_ui.views.logout import MAX_APPS_SHOWN
from tests.consent_ui.conftest import ADMIN_URL, AUTH, base_config, form_of, submit

UNKNOWN = "We could not list the apps you signed in to with this login."


def page(client, admin, **request):
    admin.add_logout(**request)
    response = client.get("/logout?logout_challenge=logout-1")
    assert response.status_code == 200
    return response


def listed(response) -> list[str]:
    """The names shown in the list of apps, in order."""
    html = response.get_data(as_text=True)
    return [
        chunk.split("</strong>", 1)[0] for chunk in html.split('<strong class="client-name">')[1:]
    ]


# -- with the fake admin API ---------------------------------------------------------------


def test_lists_the_apps_of_the_session_by_name(client, admin):
    admin.add_grant(client_id="mail", client_name="Mail")
    admin.add_grant(client_id="photos", client_name="Photos")

    response = page(client, admin, with_client=False)

    assert listed(response) == ["Photos", "Mail"]  # newest first, as the server lists
    assert "Apps you signed in to with this login:" in response.get_data(as_text=True)
    assert admin.called("list_login_session_consents")[0].challenge == "foo@bar.com"
    assert admin.called("list_login_session_consents")[0].arguments == {"sid": "sid-1"}


def test_only_the_apps_of_the_session_that_ends(client, admin):
    admin.add_grant(client_id="mail", client_name="Mail")
    admin.add_grant(client_id="other", client_name="Other Browser", sid="sid-2")
    admin.add_grant(subject="someone@else", client_id="theirs", client_name="Theirs")

    assert listed(page(client, admin, with_client=False)) == ["Mail"]


def test_the_asking_app_is_listed_first_and_once(client, admin):
    admin.add_grant(client_id="mail", client_name="Mail")
    admin.add_grant(client_id="app", client_name="Old Name of the App")

    response = page(client, admin)  # asked by "app", named "Example App"

    assert listed(response) == ["Example App", "Mail"]


def test_the_asking_app_is_listed_without_any_grant(client, admin):
    assert listed(page(client, admin)) == ["Example App"]


def test_each_app_once_with_its_newest_name(client, admin):
    admin.add_grant(client_id="mail", client_name="Old Mail")
    admin.add_grant(client_id="photos", client_name="Photos")
    admin.add_grant(client_id="mail", client_name="Mail")

    assert listed(page(client, admin, with_client=False)) == ["Mail", "Photos"]


def test_names_are_escaped(client, admin):
    admin.add_grant(client_id="evil", client_name="<script>alert(1)</script>")

    response = page(client, admin, client_id="x<b>", client_name="")

    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "x<b>" not in html
    assert listed(response) == ["x&lt;b&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"]


@pytest.mark.parametrize(
    ("back", "front", "note"),
    [
        ("https://app.example/bc", "", "notified by the server"),
        ("", "https://app.example/fc", "notified through your browser"),
        ("https://app.example/bc", "https://app.example/fc", "by the server and through"),
        ("", "", "not notified: it keeps its own session until it expires"),
    ],
)
def test_each_app_says_whether_it_is_told(client, admin, back, front, note):
    admin.add_grant(client_id="mail", backchannel_logout_uri=back, frontchannel_logout_uri=front)

    html = page(client, admin, with_client=False).get_data(as_text=True)

    assert note in html


def test_a_long_list_is_cut(client, admin):
    for number in range(MAX_APPS_SHOWN + 2):
        admin.add_grant(client_id=f"app-{number}", client_name=f"App {number}")

    response = page(client, admin, with_client=False)

    assert len(listed(response)) == MAX_APPS_SHOWN
    assert "and 2 more apps." in response.get_data(as_text=True)


def test_no_apps_no_list(client, admin):
    html = page(client, admin, with_client=False).get_data(as_text=True)

    assert 'class="apps' not in html
    assert UNKNOWN not in html


def test_without_a_sid_nothing_is_asked(client, admin):
    """No sid: the server would list the grants of every session of the user."""
    admin.add_grant(client_id="mail", client_name="Mail")

    response = page(client, admin, sid="")

    assert admin.called("list_login_session_consents") == []
    assert listed(response) == []
    assert UNKNOWN in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "error",
    [
        AdminApiError(500, "server_error"),
        AdminApiUnreachable("ReadTimeout"),
        ChallengeNotFound("no such page"),
    ],
    ids=["500", "unreachable", "404"],
)
def test_a_failing_list_does_not_block_logout(client, admin, error):
    admin.add_grant(client_id="mail", client_name="Mail")
    admin.consent_list_error = error

    response = page(client, admin)

    html = response.get_data(as_text=True)
    assert UNKNOWN in html
    assert listed(response) == []
    assert "<strong>Example App</strong> asks to log you out." in html
    assert form_of(response).buttons() == {"yes": "Yes, log me out", "no": "No, stay logged in"}
    done = submit(client, response, "yes")
    assert done.status_code == 302
    assert done.headers["Location"] == f"{AUTH}/oauth2/sessions/logout?logout_verifier=v-logout-1"


def test_the_form_keeps_its_csrf_token(client, admin):
    admin.add_grant(client_id="mail", client_name="Mail")

    form = form_of(page(client, admin))

    assert "csrf_token" in {item.name for item in form.inputs}
    assert form.action == "/logout"


# -- with the real AdminApi ----------------------------------------------------------------

LOGOUT_PATH = "/admin/oauth2/auth/requests/logout"
CONSENT_PATH = "/admin/oauth2/auth/sessions/consent"


def hydra_session(client: dict, sid: str = "sid-1") -> dict:
    return {
        "consent_request": {"client": client, "login_session_id": sid, "subject": "x"},
        "grant_scope": ["openid"],
        "remember": False,
        "handled_at": "2026-12-01T10:00:00Z",
    }


class Hydra(BaseAdapter):
    """A transport answering each path with (status, body, headers) or raising."""

    def __init__(self, answers: dict):
        super().__init__()
        self.answers = answers
        self.sent: list[tuple[requests.PreparedRequest, dict]] = []

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        answer = self.answers[urlsplit(request.url).path]
        if isinstance(answer, Exception):
            raise answer
        status, body, headers = answer
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers.update({"Content-Type": "application/json", **headers})
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass

    def queries(self, path: str) -> list[str]:
        return [urlsplit(r.url).query for r, _ in self.sent if urlsplit(r.url).path == path]


def real_site(consent_answer, subject="foo@bar.com", sid="sid-1", client=None):
    logout_request = {
        "challenge": "logout-1",
        "subject": subject,
        "sid": sid,
        "client": client,
        "rp_initiated": True,
    }
    hydra = Hydra({LOGOUT_PATH: (200, logout_request, {}), CONSENT_PATH: consent_answer})
    http = requests.Session()
    http.trust_env = False
    http.mount("http://", hydra)
    app = create_app(base_config(), admin_api=AdminApi(ADMIN_URL, session=http))
    return app.test_client(), hydra


def test_real_api_lists_names_or_client_ids_and_notes():
    sessions = [
        hydra_session({"client_id": "mail", "client_name": "Mail", "backchannel_logout_uri": ""}),
        hydra_session({"client_id": "c-123", "client_name": "", "frontchannel_logout_uri": 7}),
        hydra_session(
            {"client_id": "photos", "backchannel_logout_uri": "https://photos.example/bc"}
        ),
        hydra_session({"client_id": "elsewhere", "client_name": "Elsewhere"}, sid="sid-2"),
        "not a session",
    ]
    client, hydra = real_site((200, sessions, {"X-Total-Count": "5"}))

    response = client.get("/logout?logout_challenge=logout-1")

    assert response.status_code == 200
    assert listed(response) == ["Mail", "c-123", "photos"]  # sid-2 was not this session
    html = response.get_data(as_text=True)
    assert html.count("not notified") == 2
    assert "notified by the server" in html
    assert "maybe" not in html
    assert UNKNOWN not in html
    _, options = hydra.sent[-1]
    assert options["timeout"] == LIST_TIMEOUT


def test_real_api_sends_subject_and_sid_percent_encoded():
    client, hydra = real_site(
        (200, [], {"X-Total-Count": "0"}), subject="ann & bob+x@example.com", sid="s/1&2=3 4"
    )

    assert client.get("/logout?logout_challenge=logout-1").status_code == 200

    [query] = hydra.queries(CONSENT_PATH)
    assert len(query.split("&")) == 3  # no "&" of the values leaked into the query
    assert parse_qs(query) == {
        "subject": ["ann & bob+x@example.com"],
        "login_session_id": ["s/1&2=3 4"],
        "page_size": ["200"],
    }
    assert "%26" in query and "%2B" in query


def test_real_api_more_grants_than_read_says_maybe_more():
    sessions = [hydra_session({"client_id": "mail", "client_name": "Mail"})]
    client, _ = real_site((200, sessions, {"X-Total-Count": "900"}))

    response = client.get("/logout?logout_challenge=logout-1")

    assert listed(response) == ["Mail"]
    assert "and maybe other apps." in response.get_data(as_text=True)


def test_real_api_lists_the_asking_client_too():
    sessions = [hydra_session({"client_id": "mail", "client_name": "Mail"})]
    asking = {"client_id": "shop", "client_name": "Shop", "frontchannel_logout_uri": "https://s/f"}
    client, _ = real_site((200, sessions, {}), client=asking)

    response = client.get("/logout?logout_challenge=logout-1")

    assert listed(response) == ["Shop", "Mail"]
    assert "notified through your browser" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "answer",
    [
        (500, {"error": "server_error"}, {}),
        (503, b"", {}),
        (404, {"error": "not_found"}, {}),
        (200, b"<html>not json</html>", {}),
        (200, {"not": "a list"}, {}),
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("refused"),
    ],
    ids=["500", "503", "404", "invalid JSON", "object", "timeout", "refused"],
)
def test_real_api_a_failing_list_still_shows_the_page(answer):
    client, hydra = real_site(answer, client={"client_id": "app", "client_name": "Example App"})

    response = client.get("/logout?logout_challenge=logout-1")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert UNKNOWN in html
    assert "<strong>Example App</strong> asks to log you out." in html
    assert listed(response) == []
    assert len(hydra.queries(CONSENT_PATH)) == 1
    assert form_of(response).buttons() == {"yes": "Yes, log me out", "no": "No, stay logged in"}
