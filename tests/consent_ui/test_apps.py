"""/apps: sign in with the password, see the apps you allowed, forget one.

Who the page acts for comes from its own sign-in (kept in the signed session), never from
the request; every form has its CSRF token; bad input is a 4xx and changes nothing.
"""

from __future__ import annotations

import time

import pytest
from werkzeug.datastructures import MultiDict

from consent_ui.views import apps as apps_view
from tests.consent_ui.conftest import DEMO_EMAIL, DEMO_PASSWORD, Clock, Site, form_of, submit
from tests.consent_ui.html_forms import forms


def sign_in(client, email=DEMO_EMAIL, password=DEMO_PASSWORD, environ=None):
    page = client.get("/apps")
    return submit(client, page, "sign_in", environ, email=email, password=password)


@pytest.fixture
def signed_in(client, admin):
    admin.add_grant(client_id="app", client_name="Example App", scopes=("openid", "email"))
    admin.add_grant(client_id="other", client_name="Other App", remember=False)
    assert sign_in(client).status_code == 303
    return client


def listed(response) -> list[str]:
    """The client ids the page offers to forget."""
    return [
        form.named("client_id").value
        for form in form_of_all(response)
        if any(item.name == "client_id" for item in form.inputs)
    ]


def form_of_all(response):
    return forms(response.get_data(as_text=True))


def forget(client, client_id, **extra):
    page = client.get("/apps")
    form = next(f for f in form_of_all(page) if f.action == "/apps/forget")
    data = dict(form.submit_data("forget"))
    data.update(client_id=client_id, **extra)
    return client.post("/apps/forget", data=MultiDict(data))


def revoked(admin):
    return [call for call in admin.calls if call.method == "revoke_consent_sessions"]


# -- signing in ---------------------------------------------------------------------------


def test_the_page_asks_for_the_password_first_and_reads_nothing(client, admin):
    response = client.get("/apps")

    assert response.status_code == 200
    form = form_of(response)
    assert form.action == "/apps/sign-in"
    assert {item.name for item in form.inputs} >= {"csrf_token", "email", "password"}
    assert admin.calls == []


def test_a_subject_in_the_query_string_is_ignored(client, admin):
    admin.add_grant(subject="someone-else")

    before = client.get("/apps?subject=someone-else")
    assert form_of(before).action == "/apps/sign-in"
    sign_in(client)
    after = client.get("/apps?subject=someone-else")

    assert after.status_code == 200
    assert [call.challenge for call in admin.called("list_consent_sessions")] == [DEMO_EMAIL]


def test_the_right_password_lists_each_granted_app_once(client, admin):
    admin.add_grant(client_id="app", scopes=("openid",), remember=False)
    admin.add_grant(client_id="app", scopes=("openid", "email"))  # a second login
    admin.add_grant(client_id="other", client_name="Other App")

    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/apps"

    page = client.get("/apps")
    assert page.status_code == 200
    assert listed(page) == ["other", "app"]  # newest first, one entry per client


def test_a_wrong_password_lists_nothing(client, admin):
    admin.add_grant()

    response = sign_in(client, password="wrong")

    assert response.status_code == 200
    assert form_of(response).action == "/apps/sign-in"
    assert admin.calls == []
    assert form_of(client.get("/apps")).action == "/apps/sign-in"


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "", "password": DEMO_PASSWORD},
        {"email": DEMO_EMAIL, "password": ""},
        {"email": "foo\x00@bar.com", "password": DEMO_PASSWORD},
        {"email": "a" * 300 + "@bar.com", "password": DEMO_PASSWORD},
        {"email": DEMO_EMAIL, "password": "p" * 2000},
    ],
    ids=["no email", "no password", "NUL", "long email", "long password"],
)
def test_bad_sign_in_input_is_400(client, admin, fields):
    page = client.get("/apps")

    response = submit(client, page, "sign_in", **fields)

    assert response.status_code == 400
    assert admin.calls == []


def test_sign_in_without_a_csrf_token_is_refused(client, admin):
    response = client.post("/apps/sign-in", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})

    assert response.status_code == 400
    assert form_of(client.get("/apps")).action == "/apps/sign-in"


def test_guessing_is_throttled_like_the_login_page(admin):
    site = Site(admin, Clock())
    browser = site.browser("203.0.113.7").client

    statuses = [sign_in(browser, password=f"guess-{n}").status_code for n in range(7)]

    assert statuses == [200] * 5 + [429] * 2
    assert site.store.checks == 5  # refused attempts never reach the password
    refused = sign_in(browser)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


def test_the_sign_in_expires(signed_in, monkeypatch):
    later = time.time() + apps_view.SIGN_IN_TTL + 1
    monkeypatch.setattr(apps_view.time, "time", lambda: later)

    assert form_of(signed_in.get("/apps")).action == "/apps/sign-in"


@pytest.mark.parametrize(
    "value",
    [["nobody", None], ["nobody"], "foo@bar.com", [1, 2], ["nobody", 0], None],
    ids=["no time", "short", "string", "numbers", "unknown user", "none"],
)
def test_odd_or_unknown_sign_ins_in_the_session_show_the_form(client, admin, value):
    with client.session_transaction() as session:
        session[apps_view.SESSION_KEY] = (
            [value[0], int(time.time())] if value == ["nobody", 0] else value
        )

    response = client.get("/apps")

    assert response.status_code == 200
    assert form_of(response).action == "/apps/sign-in"
    assert admin.calls == []


def test_sign_out_ends_it(signed_in):
    page = signed_in.get("/apps")
    sign_out = next(f for f in form_of_all(page) if f.action == "/apps/sign-out")

    response = signed_in.post("/apps/sign-out", data=MultiDict(sign_out.submit_data("sign_out")))

    assert response.status_code == 303
    assert form_of(signed_in.get("/apps")).action == "/apps/sign-in"


def test_sign_out_without_a_csrf_token_is_refused(signed_in):
    assert signed_in.post("/apps/sign-out", data={"sign_out": "Sign out"}).status_code == 400
    assert listed(signed_in.get("/apps")) == ["other", "app"]


# -- forgetting ---------------------------------------------------------------------------


def test_forget_revokes_that_app_for_this_user_only(signed_in, admin):
    response = forget(signed_in, "app")

    assert response.status_code == 303
    assert [(c.challenge, c.arguments) for c in revoked(admin)] == [
        (DEMO_EMAIL, {"client_id": "app"})
    ]
    page = signed_in.get("/apps")
    assert listed(page) == ["other"]
    assert 'role="status"' in page.get_data(as_text=True)  # says what happened


def test_forget_ignores_a_subject_in_the_form_or_query(signed_in, admin):
    admin.add_grant(subject="victim", client_id="app")

    page = signed_in.get("/apps")
    form = next(f for f in form_of_all(page) if f.action == "/apps/forget")
    data = MultiDict([*form.submit_data("forget", client_id="app"), ("subject", "victim")])
    signed_in.post("/apps/forget?subject=victim", data=data)

    assert [call.challenge for call in revoked(admin)] == [DEMO_EMAIL]
    assert admin.consent_sessions["victim"]  # untouched


def test_forgetting_an_app_not_granted_is_404(signed_in, admin):
    assert forget(signed_in, "never-granted").status_code == 404
    assert revoked(admin) == []


@pytest.mark.parametrize(
    "client_id",
    ["", "app\x00", "a" * 300, "line\nbreak"],
    ids=["empty", "NUL", "long", "newline"],
)
def test_a_bad_client_id_is_400(signed_in, admin, client_id):
    assert forget(signed_in, client_id).status_code == 400
    assert revoked(admin) == []


def test_forget_without_a_csrf_token_is_refused(signed_in, admin):
    response = signed_in.post("/apps/forget", data={"client_id": "app", "forget": "Forget"})

    assert response.status_code == 400
    assert revoked(admin) == []


def test_forget_before_signing_in_goes_to_the_sign_in(client, admin):
    admin.add_grant()
    page = client.get("/apps")
    token = form_of(page).named("csrf_token").value

    response = client.post("/apps/forget", data={"csrf_token": token, "client_id": "app"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/apps"
    assert admin.calls == []


def test_an_unreachable_admin_api_is_503_not_500(signed_in, admin):
    admin.down = True

    assert signed_in.get("/apps").status_code == 503


def test_logging_out_ends_the_apps_sign_in_too(signed_in, admin):
    admin.add_logout()
    page = signed_in.get("/logout?logout_challenge=logout-1")

    submit(signed_in, page, "yes")

    assert form_of(signed_in.get("/apps")).action == "/apps/sign-in"
