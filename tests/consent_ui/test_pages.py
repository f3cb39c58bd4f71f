"""The pages around the flow: the index (``/``), the favicon, "still logged in", and the
logout page's "forget my remembered login"."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from tests.consent_ui.conftest import base_config, form_of, submit

DEMO_CLIENT = "http://127.0.0.1:9010/"


@pytest.fixture
def app(admin):
    return create_app(base_config(DEMO_CLIENT_URL=DEMO_CLIENT), admin_api=admin)


def links(response) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"]+)"', response.get_data(as_text=True))


def test_the_index_links_the_demo_client_and_the_apps_page(client, admin):
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert {DEMO_CLIENT, "/apps"} <= set(links(response))
    assert "foo@bar.com" in response.get_data(as_text=True)  # the demo user to sign in as
    assert admin.calls == []


def test_the_index_without_a_demo_client_or_demo_user(admin):
    config = base_config(USER_PASSWORD="another-password-1")
    client = create_app(config, admin_api=admin).test_client()

    response = client.get("/")

    assert response.status_code == 200
    assert "/apps" in links(response)
    assert "foobar" not in response.get_data(as_text=True)


def test_the_favicon_is_an_icon_that_may_be_cached(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_every_page_links_an_svg_icon_that_exists(client):
    html = client.get("/").get_data(as_text=True)

    assert 'rel="icon"' in html
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"


def test_the_consent_page_links_the_apps_page(client, admin):
    admin.add_consent()

    assert "/apps" in links(client.get("/consent?consent_challenge=consent-1"))


@pytest.mark.parametrize("client_uri", ["https://app.example/", ""])
def test_still_logged_in_is_not_a_dead_end(client, admin, client_uri):
    admin.add_logout(client_uri=client_uri)
    page = client.get("/logout?logout_challenge=logout-1")

    response = submit(client, page, "no")

    assert response.status_code == 200
    found = set(links(response))
    assert {DEMO_CLIENT, "/", "/apps"} <= found
    assert (client_uri in found) == bool(client_uri)


# -- logout: forget the remembered login ------------------------------------------------


def logout(client, admin, tick=(), **extra):
    admin.add_logout(subject="foo@bar.com")
    page = client.get("/logout?logout_challenge=logout-1")
    form = form_of(page)
    return client.post(form.action, data=MultiDict(form.submit_data("yes", tick=tick, **extra)))


def test_the_logout_page_offers_to_forget_the_remembered_login(client, admin):
    admin.add_logout()

    form = form_of(client.get("/logout?logout_challenge=logout-1"))

    assert form.checkboxes("forget") == {"y": False}  # unticked: Hydra's plain logout


def test_logout_with_forget_revokes_the_subjects_login_sessions(client, admin):
    response = logout(client, admin, tick=["forget"])

    assert response.status_code == 302
    methods = [(call.method, call.challenge) for call in admin.answers()]
    assert methods == [("accept_logout", "logout-1"), ("revoke_login_sessions", "foo@bar.com")]


def test_logout_without_forget_revokes_nothing_more(client, admin):
    logout(client, admin)

    assert [call.method for call in admin.answers()] == ["accept_logout"]


def test_the_subject_to_forget_comes_from_the_server_not_the_form(client, admin):
    logout(client, admin, tick=["forget"], subject="victim", logout_subject="victim")

    [revoke] = admin.called("revoke_login_sessions")
    assert revoke.challenge == "foo@bar.com"


def test_forget_on_a_logout_without_a_subject_revokes_nothing(client, admin):
    admin.add_logout(subject="")
    page = client.get("/logout?logout_challenge=logout-1")

    submit(client, page, "yes", tick=["forget"])

    assert admin.called("revoke_login_sessions") == []


def test_forget_with_no_csrf_token_changes_nothing(client, admin):
    admin.add_logout()

    response = client.post("/logout", data={"challenge": "logout-1", "yes": "1", "forget": "y"})

    assert response.status_code == 400
    assert admin.answers() == []
