"""/login: skip, the form, wrong and right passwords, deny, throttling, rehash on login."""

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


class CountingStore(SingleUserStore):
    """The demo user, counting password checks."""

    checks = 0

    def authenticate(self, email, password):
        self.checks += 1
        return super().authenticate(email, password)


def counting_app(admin, **config):
    store = CountingStore.from_settings("foo@bar.com", "Foo Bar", "foobar", hasher=fast_hasher())
    return create_app(base_config(**config), user_store=store, admin_api=admin), store


def test_account_is_locked_after_five_failures(admin):
    app, store = counting_app(admin)
    client = app.test_client()
    admin.add_login()
    for _ in range(5):
        page = client.get("/login?login_challenge=login-1")
        response = submit(client, page, "login", email="foo@bar.com", password="wrong")
        assert WRONG in response.get_data(as_text=True)
    assert store.checks == 5

    page = client.get("/login?login_challenge=login-1")
    response = submit(client, page, "login", email="foo@bar.com", password="foobar")

    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert WRONG in html and "try again later" in html
    assert store.checks == 5  # the password was not even checked
    assert admin.called("accept_login") == []


def test_a_lock_on_one_account_does_not_block_another_address_for_other_accounts(admin):
    app, _ = counting_app(admin)
    client = app.test_client()
    admin.add_login()
    for _ in range(5):
        page = client.get("/login?login_challenge=login-1")
        submit(client, page, "login", email="someone@else.com", password="x")

    page = client.get("/login?login_challenge=login-1", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    response = submit(
        client, page, "login", {"REMOTE_ADDR": "10.0.0.9"}, email="foo@bar.com", password="foobar"
    )
    assert response.status_code == 302


def test_address_is_locked_after_five_failures_on_different_accounts(admin):
    app, store = counting_app(admin)
    client = app.test_client()
    admin.add_login()
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for number in range(5):
        page = client.get("/login?login_challenge=login-1")
        submit(client, page, "login", attacker, email=f"user{number}@bar.com", password="guess")

    page = client.get("/login?login_challenge=login-1")
    locked = submit(client, page, "login", attacker, email="foo@bar.com", password="foobar")
    assert locked.status_code == 429
    assert "try again later" in locked.get_data(as_text=True)
    assert store.checks == 5

    # The account itself is not locked: the same user from another address gets in.
    page = client.get("/login?login_challenge=login-1")
    other = submit(client, page, "login", {"REMOTE_ADDR": "198.51.100.1"}, email="foo@bar.com",
                   password="foobar")  # fmt: skip
    assert other.status_code == 302


def test_a_success_resets_the_account_counter(admin):
    app, _ = counting_app(admin, THROTTLE_MAX_FAILURES=3)
    client = app.test_client()

    def attempt(challenge, password, address):
        admin.add_login(challenge)
        page = client.get(f"/login?login_challenge={challenge}")
        environ = {"REMOTE_ADDR": address}
        return submit(client, page, "login", environ, email="foo@bar.com", password=password)

    # Each address fails only twice, so only the account counter could reach three.
    attempt("a1", "wrong", "10.0.0.1")
    attempt("a2", "wrong", "10.0.0.1")
    assert attempt("a3", "foobar", "10.0.0.2").status_code == 302
    attempt("a4", "wrong", "10.0.0.2")
    attempt("a5", "wrong", "10.0.0.3")
    assert attempt("a6", "foobar", "10.0.0.4").status_code == 302


def test_lockout_settings_come_from_the_config(admin):
    app, store = counting_app(admin, THROTTLE_MAX_FAILURES=2)
    client = app.test_client()
    admin.add_login()
    for _ in range(2):
        page = client.get("/login?login_challenge=login-1")
        submit(client, page, "login", email="foo@bar.com", password="wrong")

    page = client.get("/login?login_challenge=login-1")
    response = submit(client, page, "login", email="foo@bar.com", password="foobar")
    assert response.status_code == 429
    assert store.checks == 2


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
