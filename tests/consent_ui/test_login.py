"""/login: skip, the form, wrong and right passwords, deny, rehash on login (throttling:
test_login_throttle.py)."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from consent_ui import create_app
from consent_ui.users import SingleUserStore
from tests.consent_ui.conftest import AUTH, base_config, fast_hasher, form_of, submit

WRONG = "The email or password is incorrect."


def test_skip_accepts_at_once_with_the_requests_subject(client, admin):
    admin.add_login(skip=True, subject="foo@bar.com")

    response = client.get("/login?login_challenge=login-1")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?login_verifier=v-login-1"
    [accept] = admin.called("accept_login")
    assert accept.arguments["subject"] == "foo@bar.com"
    assert "<form" not in response.get_data(as_text=True)


def test_form_has_labelled_fields_and_two_buttons(auth):
    response = auth.page()

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    form = form_of(response)
    assert form.method == "post" and form.action == "/login"
    assert form.named("challenge").value == "login-1"
    assert form.buttons() == {"login": "Log in", "deny": "Deny access"}
    for field_id in ("email", "password", "remember"):
        assert f'<label for="{field_id}">' in html
    assert "Remember me" in html
    assert "Example App" in html  # which application the user logs in to


def test_login_hint_prefills_the_email(auth):
    response = auth.page(login_hint="hinted@example.com")

    assert form_of(response).named("email").value == "hinted@example.com"


def test_demo_account_note_shown_only_for_the_default_user(auth, admin):
    assert "Demo account" in auth.page().get_data(as_text=True)

    store = SingleUserStore.from_settings("ann@example.com", "Ann", "pw", hasher=fast_hasher())
    other = create_app(base_config(), user_store=store, admin_api=admin).test_client()
    response = other.get("/login?login_challenge=login-1")
    assert response.status_code == 200
    assert "Demo account" not in response.get_data(as_text=True)

    changed = create_app(base_config(USER_PASSWORD="another"), admin_api=admin).test_client()
    assert "Demo account" not in changed.get("/login?login_challenge=login-1").get_data(True)


def test_wrong_password_shows_one_generic_message_and_accepts_nothing(auth, admin):
    response = auth.login(password="not-the-password-xyz")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert WRONG in html
    assert "not-the-password-xyz" not in html  # the password is never echoed
    assert form_of(response).named("password").value == ""
    assert form_of(response).named("email").value == "foo@bar.com"
    assert admin.answers() == []


def test_unknown_email_gets_the_same_message(auth, admin):
    response = auth.login(email="nobody@bar.com")

    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)
    assert admin.answers() == []


def test_right_password_accepts_with_subject_remember_and_amr(auth, admin, app):
    response = auth.login(email="FOO@bar.com ", remember=True)

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?login_verifier=v-login-1"
    [accept] = admin.called("accept_login")
    assert accept.arguments["subject"] == "foo@bar.com"
    assert accept.arguments["remember"] is True
    assert accept.arguments["remember_for"] == app.config["REMEMBER_FOR"] == 3600
    assert accept.arguments["amr"] == ["pwd"]
    assert accept.arguments["acr"]


def test_without_remember_me_the_login_is_not_remembered(auth, admin):
    auth.login(remember=False)

    [accept] = admin.called("accept_login")
    assert accept.arguments["remember"] is False


def test_deny_rejects_with_access_denied_without_a_password(auth, admin):
    page = auth.page()
    response = submit(auth.client, page, "deny", email="", password="")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?login_verifier=v-login-1"
    [reject] = admin.called("reject_login")
    assert reject.arguments == {
        "error": "access_denied",
        "description": "The user denied the login.",
    }
    assert admin.called("accept_login") == []


def test_empty_fields_are_asked_for_again(auth, admin):
    page = auth.page()
    response = submit(auth.client, page, "login", email="", password="")

    assert response.status_code == 200
    assert "Enter your email." in response.get_data(as_text=True)
    assert admin.answers() == []


def test_login_rehashes_a_hash_made_with_weaker_parameters(admin):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    strong = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    store = SingleUserStore.from_settings(
        "foo@bar.com", "Foo Bar", password_hash=weak.hash("foobar"), hasher=strong
    )
    client = create_app(base_config(), user_store=store, admin_api=admin).test_client()
    admin.add_login()
    old_hash = store.password_hash

    page = client.get("/login?login_challenge=login-1")
    response = submit(client, page, "login", email="foo@bar.com", password="foobar")

    assert response.status_code == 302
    assert store.password_hash != old_hash
    parameters = extract_parameters(store.password_hash)
    assert (parameters.time_cost, parameters.memory_cost) == (2, 16)
    assert store.authenticate("foo@bar.com", "foobar") is not None
    again = store.password_hash
    store.authenticate("foo@bar.com", "foobar")
    assert store.password_hash == again  # current parameters: no further rehash


def test_a_used_challenge_shows_the_expired_page_with_start_again(auth, admin):
    auth.login()

    response = auth.client.get("/login?login_challenge=login-1")

    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "Start again" in html
    assert f'href="{AUTH}/oauth2/auth?client_id=app&amp;state=restart"' in html


def test_posting_to_an_expired_challenge_shows_the_expired_page(auth, admin):
    page = auth.page()
    admin.expire("login-1")

    response = submit(auth.client, page, "login", email="foo@bar.com", password="foobar")

    assert response.status_code == 410
    assert "Start again" in response.get_data(as_text=True)
    assert admin.called("accept_login") == []


def test_an_expired_challenge_without_redirect_has_no_start_again_link(client, admin):
    admin.add_login()
    admin.expire("login-1", redirect_to="")

    response = client.get("/login?login_challenge=login-1")

    assert response.status_code == 410
    assert "Start again" not in response.get_data(as_text=True)


def test_unknown_challenge(client):
    response = client.get("/login?login_challenge=never-issued")

    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_missing_challenge(client, admin):
    response = client.get("/login")

    assert response.status_code == 400
    assert "login_challenge" in response.get_data(as_text=True)
    assert admin.calls == []


def test_admin_api_down_shows_503_with_the_request_id(client, admin):
    admin.add_login()
    admin.down = True

    response = client.get("/login?login_challenge=login-1")

    assert response.status_code == 503
    request_id = response.headers["X-Request-Id"]
    assert len(request_id) >= 16
    html = response.get_data(as_text=True)
    assert request_id in html
    assert "Traceback" not in html
