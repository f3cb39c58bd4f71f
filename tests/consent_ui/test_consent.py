"""/consent: skip, the form, granting only ticked (and requested) scopes and their claims."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from consent_ui.users import SingleUserStore
from tests.consent_ui.conftest import AUTH, base_config, fast_hasher, form_of, submit

REQUESTED = ("openid", "offline_access", "profile", "email")
FOO_PROFILE = {
    "name": "Foo Bar",
    "given_name": "Foo",
    "family_name": "Bar",
    "preferred_username": "foo",
}
FOO_EMAIL = {"email": "foo@bar.com", "email_verified": True}


def consent_page(client, admin, **request):
    admin.add_consent(**{"scopes": REQUESTED, **request})
    return client.get("/consent?consent_challenge=consent-1")


def test_skip_accepts_everything_requested_with_the_claims(client, admin):
    admin.add_consent(scopes=REQUESTED, skip=True, audience=("https://api.example",))

    response = client.get("/consent?consent_challenge=consent-1")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?consent_verifier=v-consent-1"
    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == list(REQUESTED)
    assert accept.arguments["grant_access_token_audience"] == ["https://api.example"]
    assert accept.arguments["id_token_claims"] == {**FOO_PROFILE, **FOO_EMAIL}
    assert accept.arguments["access_token_claims"] == {}


def test_a_trusted_client_skips_the_page(client, admin):
    admin.add_consent(scopes=("openid", "email"), skip_consent=True)

    response = client.get("/consent?consent_challenge=consent-1")

    assert response.status_code == 302
    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == ["openid", "email"]
    assert accept.arguments["id_token_claims"] == FOO_EMAIL


def test_the_page_lists_each_scope_ticked_with_an_explanation(client, admin):
    response = consent_page(client, admin, scopes=(*REQUESTED, "offline", "read:photos"))

    assert response.status_code == 200
    form = form_of(response)
    assert form.checkboxes("grant_scope") == {
        scope: True for scope in (*REQUESTED, "offline", "read:photos")
    }
    assert form.buttons() == {"allow": "Allow", "deny": "Deny"}
    assert form.checkboxes("remember") == {"y": False}  # "Remember this decision": unticked
    html = response.get_data(as_text=True)
    for text in (
        "Confirm who you are",
        "See your name",
        "See your email address",
        "Keep access when you are not using it",
        "A permission this application calls “read:photos”",
        "Remember this decision",
        "Example App",
    ):
        assert text in html
    for item in form.inputs:
        if item.type == "checkbox":
            assert f'<label for="{item.id}">' in html


def test_the_client_name_falls_back_to_the_client_id(client, admin):
    response = consent_page(client, admin, client_name="", client_id="my-client-id")

    assert "my-client-id" in response.get_data(as_text=True)


def test_logo_and_links_only_when_they_are_http(client, admin):
    response = consent_page(
        client,
        admin,
        logo_uri="https://app.example/logo.png",
        policy_uri="https://app.example/privacy",
        tos_uri="javascript:alert(1)",
    )
    html = response.get_data(as_text=True)

    assert '<img class="logo" src="https://app.example/logo.png"' in html
    assert '<a href="https://app.example/privacy" rel="noopener noreferrer">' in html
    assert "javascript:" not in html
    assert "Terms of service" not in html


def test_no_logo_when_its_uri_is_not_http(client, admin):
    response = consent_page(client, admin, logo_uri="data:image/png;base64,AAAA")

    assert "<img" not in response.get_data(as_text=True)


def test_allow_grants_only_the_ticked_scopes_and_their_claims(client, admin, app):
    page = consent_page(client, admin, audience=("https://api.example",))

    response = submit(client, page, "allow", untick=["email"], tick=["remember"])

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?consent_verifier=v-consent-1"
    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == ["openid", "offline_access", "profile"]
    assert accept.arguments["grant_access_token_audience"] == ["https://api.example"]
    assert accept.arguments["id_token_claims"] == FOO_PROFILE  # no email claim
    assert accept.arguments["access_token_claims"] == {}
    assert accept.arguments["remember"] is True
    assert accept.arguments["remember_for"] == app.config["REMEMBER_FOR"]


def test_unticking_profile_keeps_the_name_out(client, admin):
    page = consent_page(client, admin)

    submit(client, page, "allow", untick=["profile"])

    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == ["openid", "offline_access", "email"]
    assert accept.arguments["id_token_claims"] == FOO_EMAIL
    assert accept.arguments["remember"] is False


def test_a_scope_that_was_not_requested_is_ignored(client, admin):
    page = consent_page(client, admin, scopes=("openid", "profile"))
    form = form_of(page)
    data = form.submit_data("allow") + [("grant_scope", "email"), ("grant_scope", "admin")]

    response = client.post("/consent", data=MultiDict(data))

    assert response.status_code == 302
    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == ["openid", "profile"]
    assert "email" not in accept.arguments["id_token_claims"]


def test_nothing_ticked_grants_nothing(client, admin):
    page = consent_page(client, admin)

    submit(client, page, "allow", untick=["grant_scope"])

    [accept] = admin.called("accept_consent")
    assert accept.arguments["grant_scope"] == []
    assert accept.arguments["id_token_claims"] == {}


def test_deny_rejects_with_access_denied(client, admin):
    page = consent_page(client, admin)

    response = submit(client, page, "deny")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{AUTH}/oauth2/auth?consent_verifier=v-consent-1"
    [reject] = admin.called("reject_consent")
    assert reject.arguments["error"] == "access_denied"
    assert admin.called("accept_consent") == []


def test_a_post_without_either_button_is_refused(client, admin):
    page = consent_page(client, admin)
    data = [pair for pair in form_of(page).submit_data("allow") if pair[0] != "allow"]

    response = client.post("/consent", data=MultiDict(data))

    assert response.status_code == 400
    assert admin.answers() == []


def test_a_subject_the_store_does_not_know_is_rejected(client, admin):
    page = consent_page(client, admin, subject="deleted@bar.com")

    submit(client, page, "allow")

    assert admin.called("accept_consent") == []
    [reject] = admin.called("reject_consent")
    assert reject.arguments["error"] == "access_denied"


def test_greets_the_user_signed_in_with_flask_login(auth, admin):
    auth.login()
    response = consent_page(auth.client, admin)

    assert "Signed in as <strong>Foo Bar</strong>" in response.get_data(as_text=True)


def test_greets_the_remembered_subject_without_a_local_session(admin):
    store = SingleUserStore.from_settings("ann@example.com", "Ann Lee", "pw", hasher=fast_hasher())
    client = create_app(base_config(), user_store=store, admin_api=admin).test_client()

    response = consent_page(client, admin, subject="ann@example.com")

    assert "Signed in as <strong>Ann Lee</strong>" in response.get_data(as_text=True)


def test_a_used_consent_challenge_is_gone(client, admin):
    page = consent_page(client, admin)
    submit(client, page, "allow")

    again = client.get("/consent?consent_challenge=consent-1")

    assert again.status_code == 410
    assert "Start again" in again.get_data(as_text=True)


def test_replaying_the_form_is_gone(client, admin):
    page = consent_page(client, admin)
    submit(client, page, "allow")

    replay = submit(client, page, "allow")

    assert replay.status_code == 410
    assert len(admin.called("accept_consent")) == 1


def test_missing_and_unknown_consent_challenges(client, admin):
    assert client.get("/consent").status_code == 400
    assert client.get("/consent?consent_challenge=").status_code == 400
    response = client.get("/consent?consent_challenge=unknown")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_admin_api_down(client, admin):
    admin.down = True

    response = client.get("/consent?consent_challenge=consent-1")

    assert response.status_code == 503
    assert response.headers["X-Request-Id"] in response.get_data(as_text=True)
