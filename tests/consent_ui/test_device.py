"""The device flow's pages (RFC 8628): /device takes the code a device shows and accepts it
through the admin API; /device/success ends the flow; login and consent say that a device
is asking."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from consent_ui import create_app
from consent_ui.admin_api import (
    AdminApiError,
    ChallengeGone,
    ChallengeNotFound,
    UserCodeRejected,
)
from tests.consent_ui.conftest import (
    AUTH,
    DEVICE_VERIFY,
    WRONG_CODES_ALLOWED,
    base_config,
    form_of,
    submit,
)
from tests.consent_ui.test_admin_api import REQUESTS, api

PAGE = "/device?device_challenge=device-1"
ACCEPTED = f"{DEVICE_VERIFY}?device_verifier=v-device-1"


@pytest.fixture
def device(admin):
    return admin.add_device("device-1", user_code="BCDFGHJK")


def code_page(client, query=""):
    return client.get(PAGE + query)


def enter(client, code, page=None):
    """Type ``code`` into the form and press Continue, as a browser would."""
    return submit(client, page or code_page(client), "enter", user_code=code)


def alert(response) -> bool:
    return 'role="alert"' in response.get_data(as_text=True)


# -- the form ----------------------------------------------------------------------------


def test_the_form_carries_the_challenge_and_a_csrf_token(client, device):
    response = code_page(client)

    assert response.status_code == 200
    form = form_of(response)
    assert form.action == "/device"
    assert form.method.lower() == "post"
    assert form.named("challenge").value == "device-1"
    assert form.named("csrf_token").value
    assert form.named("user_code").value == ""
    assert not alert(response)


def test_user_code_in_the_link_prefills_the_form(client, device):
    response = code_page(client, "&user_code=BCDF-GHJK")

    assert response.status_code == 200
    assert form_of(response).named("user_code").value == "BCDF-GHJK"


def test_the_right_code_is_accepted_and_the_browser_follows_redirect_to(client, admin, device):
    response = enter(client, " bcdf-ghjk ")

    assert response.status_code == 302
    assert response.headers["Location"] == ACCEPTED
    [call] = admin.called("accept_user_code")
    assert call.challenge == "device-1"
    assert call.arguments == {"user_code": "BCDFGHJK"}  # upper-case, without the dash


def test_a_code_with_spaces_is_sent_without_them(client, admin, device):
    assert enter(client, "BCDF GHJK").status_code == 302
    assert admin.called("accept_user_code")[0].arguments["user_code"] == "BCDFGHJK"


# -- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-a-token"], ids=["missing", "empty", "forged"])
def test_a_post_without_a_valid_csrf_token_is_refused(client, admin, device, token):
    code_page(client)  # the session cookie exists; only the token is wrong
    data = {"challenge": "device-1", "user_code": "BCDFGHJK", "enter": "Continue"}
    if token is not None:
        data["csrf_token"] = token

    response = client.post("/device", data=data)

    assert response.status_code == 400
    assert admin.called("accept_user_code") == []


def test_a_token_from_another_browser_is_refused(app, admin, device):
    ours, theirs = app.test_client(), app.test_client()
    page = code_page(theirs)

    response = submit(ours, page, "enter", user_code="BCDFGHJK")

    assert response.status_code == 400
    assert admin.called("accept_user_code") == []


# -- what the admin API answers ----------------------------------------------------------


def test_a_wrong_code_shows_the_form_again_with_the_challenge(client, admin, device):
    response = enter(client, "XXXX-XXXX")

    assert response.status_code == 400
    assert alert(response)
    form = form_of(response)
    assert form.named("challenge").value == "device-1"
    assert form.named("user_code").value == "XXXX-XXXX"  # to correct, not retype
    # The user can try again from the same page, and succeed.
    retry = submit(client, response, "enter", user_code="BCDFGHJK")
    assert retry.status_code == 302
    assert retry.headers["Location"] == ACCEPTED


def test_after_too_many_wrong_codes_the_410_redirect_to_starts_again(client, admin, device):
    for _ in range(WRONG_CODES_ALLOWED):
        assert enter(client, "XXXXXXXX").status_code == 400

    response = enter(client, "BCDFGHJK")  # too late: the challenge is dead

    assert response.status_code == 302
    assert response.headers["Location"] == DEVICE_VERIFY


def test_a_used_challenge_follows_the_410_redirect_to(client, admin, device):
    page = code_page(client)
    assert enter(client, "BCDFGHJK", page).status_code == 302

    again = enter(client, "BCDFGHJK", page)  # the back button, then Continue again

    assert again.status_code == 302
    assert again.headers["Location"] == DEVICE_VERIFY


def test_a_410_without_a_web_url_is_a_start_again_page(client, admin, device):
    page = code_page(client)
    admin.expire("device-1", redirect_to="javascript:alert(1)")

    response = enter(client, "BCDFGHJK", page)

    assert response.status_code == 410
    assert "javascript:" not in response.get_data(as_text=True)


def test_an_unknown_challenge_says_to_start_again_on_the_device(client, admin):
    page = code_page(client)  # no API call on GET: the page shows

    response = enter(client, "BCDFGHJK", page)

    assert response.status_code == 400
    assert "device" in response.get_data(as_text=True).lower()
    assert not forms_in(response)


def test_admin_api_down_is_a_503_page(client, admin, device):
    page = code_page(client)
    admin.down = True

    response = enter(client, "BCDFGHJK", page)

    assert response.status_code == 503


def test_wrong_codes_from_one_address_are_throttled(admin):
    app = create_app(base_config(THROTTLE_ADDRESS_MAX_FAILURES=3), admin_api=admin)
    client = app.test_client()
    for number in range(3):
        admin.add_device(f"device-{number}")
        page = client.get(f"/device?device_challenge=device-{number}")
        assert enter(client, "XXXXXXXX", page).status_code == 400
    admin.add_device("device-9")
    page = client.get("/device?device_challenge=device-9")

    response = enter(client, "BCDFGHJK", page)  # even the right code waits

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert len(admin.called("accept_user_code")) == 3


# -- bad input -----------------------------------------------------------------------------


def forms_in(response) -> bool:
    return "<form" in response.get_data(as_text=True)


BAD_CHALLENGES = {
    "missing": "/device",
    "empty": "/device?device_challenge=",
    "NUL": "/device?device_challenge=device-1%00",
    "over-long": "/device?device_challenge=" + "a" * 2000,
    "non-ASCII": "/device?device_challenge=d%C3%A9vice",
    "invalid UTF-8": "/device?device_challenge=%FF%FE",
    "CR LF": "/device?device_challenge=a%0D%0ASet-Cookie:x=1",
    "repeated": "/device?device_challenge=device-1&device_challenge=device-2",
}


@pytest.mark.parametrize("url", BAD_CHALLENGES.values(), ids=BAD_CHALLENGES)
def test_a_missing_or_garbled_challenge_is_a_400_page(client, device, url):
    response = client.get(url)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert not forms_in(response)
    assert "Set-Cookie: x" not in response.get_data(as_text=True)


BAD_CODES = {
    "NUL": "BCDF\x00GHJK",
    "over-long": "B" * 65,
    "odd characters": "BCDF_GHJK",
    "markup": "<script>x</script>",
    "non-ASCII letters": "BCDFGHJÉ",
    "CR LF": "BCDF\r\nGHJK",
    "only dashes": "----",
    "empty": "",
    "blank": "   ",
}


@pytest.mark.parametrize("code", BAD_CODES.values(), ids=BAD_CODES)
def test_a_bad_code_is_a_400_form_and_never_reaches_the_api(client, admin, device, code):
    response = enter(client, code)

    assert response.status_code == 400
    assert form_of(response).named("challenge").value == "device-1"
    assert "<script>x" not in response.get_data(as_text=True)
    assert admin.called("accept_user_code") == []


BAD_PREFILLS = {
    "NUL": "&user_code=BCDF%00GHJK",
    "over-long": "&user_code=" + "B" * 500,
    "odd characters": "&user_code=%3Cb%3Ehi%3C/b%3E",
    "invalid UTF-8": "&user_code=%FF%FE",
    "repeated": "&user_code=BCDFGHJK&user_code=XXXXXXXX",
}


@pytest.mark.parametrize("query", BAD_PREFILLS.values(), ids=BAD_PREFILLS)
def test_a_bad_code_in_the_link_is_a_400_with_an_empty_form(client, device, query):
    response = code_page(client, query)

    assert response.status_code == 400
    form = form_of(response)
    assert form.named("challenge").value == "device-1"
    assert form.named("user_code").value == ""
    assert "<b>hi" not in response.get_data(as_text=True)


def test_repeated_form_fields_use_the_first_and_a_bad_hidden_challenge_is_400(
    client, admin, device
):
    page = code_page(client)
    token = form_of(page).named("csrf_token").value
    data = MultiDict(
        [
            ("csrf_token", token),
            ("challenge", "device-1\x00"),
            ("challenge", "device-1"),
            ("user_code", "BCDFGHJK"),
            ("enter", "Continue"),
        ]
    )

    response = client.post("/device", data=data)

    assert response.status_code == 400
    assert admin.called("accept_user_code") == []


def test_only_get_and_post(client, device):
    assert client.put(PAGE).status_code == 405
    assert client.post("/device/success").status_code in (400, 405)


# -- /device/success -------------------------------------------------------------------------


def test_success_says_to_go_back_to_the_device(client):
    response = client.get("/device/success")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "go back to your device" in html
    assert not alert(response)
    assert "stylesheet" in html  # the same look as the other pages


def test_a_refusal_says_the_device_was_not_allowed_and_escapes_the_description(client):
    description = '<script>alert("x")</script> The user denied the request.'
    response = client.get(
        "/device/success",
        query_string={"error": "access_denied", "error_description": description},
    )

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "go back to your device" not in html
    assert alert(response)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "query",
    [
        "error=%00&error_description=%00%0D%0A",
        "error=access_denied&error_description=" + "x" * 10_000,
        "error=%FF&error=access_denied&error_description=%ED%A0%80",
        "error=",
    ],
    ids=["NUL", "over-long", "odd bytes, repeated", "empty"],
)
def test_odd_error_parameters_are_a_failure_page_never_an_error(client, query):
    response = client.get(f"/device/success?{query}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "go back to your device" not in html
    assert "x" * 400 not in html  # a long description is cut
    assert "\x00" not in html


# -- "A device is asking" on the consent and login pages ---------------------------------


def notice(response) -> bool:
    return "device-notice" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("request_url", "shown"),
    [
        (f"{DEVICE_VERIFY}?device_verifier=v-device-1", True),
        (DEVICE_VERIFY, True),
        (f"{AUTH}/prefix/oauth2/device/verify?x=1", True),
        (f"{AUTH}/oauth2/auth?client_id=app&redirect_uri=/oauth2/device/verify", False),
        (f"{AUTH}/oauth2/auth?client_id=app", False),
        ("", False),
        ("http://[::1", False),  # not even a URL
    ],
)
def test_the_consent_page_says_when_a_device_is_asking(client, admin, request_url, shown):
    admin.add_consent(request_url=request_url, client_name="Living Room TV")

    response = client.get("/consent?consent_challenge=consent-1")

    assert response.status_code == 200
    assert notice(response) is shown
    if shown:
        html = response.get_data(as_text=True)
        start = html.index("device-notice")
        assert "Living Room TV" in html[start : start + 400]  # names the client


def test_the_device_notice_escapes_the_client_name(client, admin):
    admin.add_consent(request_url=DEVICE_VERIFY, client_name="<b>TV</b>")

    html = client.get("/consent?consent_challenge=consent-1").get_data(as_text=True)

    assert "&lt;b&gt;TV&lt;/b&gt;" in html
    assert "<b>TV</b>" not in html


@pytest.mark.parametrize(("request_url", "shown"), [(DEVICE_VERIFY, True), (AUTH, False)])
def test_the_login_page_says_when_a_device_is_asking(client, admin, request_url, shown):
    admin.add_login(request_url=request_url)

    response = client.get("/login?login_challenge=login-1")

    assert response.status_code == 200
    assert notice(response) is shown


# -- the index -------------------------------------------------------------------------------


def test_the_index_explains_the_device_flow_without_a_dead_link(client):
    html = client.get("/").get_data(as_text=True)

    # /device needs a challenge the authorization server makes: the index says where to
    # start instead of linking a page that can only say so.
    assert "/device" in html and 'href="/device"' not in html
    response = client.get("/device")  # without a challenge: where to start instead
    assert response.status_code == 400
    assert not forms_in(response)


# -- admin_api.AdminApi.accept_user_code, against a fake requests.Session ------------------


def test_accept_user_code_puts_hydras_body_and_returns_redirect_to():
    admin_api, session = api(body={"redirect_to": ACCEPTED})

    assert admin_api.accept_user_code("ch-1", "BCDFGHJK") == ACCEPTED
    [sent] = session.sent
    assert sent["method"] == "PUT"
    assert sent["url"] == REQUESTS + "/device/accept"
    assert sent["params"] == {"device_challenge": "ch-1"}
    assert sent["json"] == {"user_code": "BCDFGHJK"}


@pytest.mark.parametrize("error", ["invalid_grant", "invalid_request"])
def test_a_400_on_the_code_is_user_code_rejected_with_the_description(error):
    admin_api, _ = api(status=400, body={"error": error, "error_description": "Wrong code."})

    with pytest.raises(UserCodeRejected) as raised:
        admin_api.accept_user_code("ch-1", "XXXXXXXX")
    assert raised.value.description == "Wrong code."


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (410, {"redirect_to": DEVICE_VERIFY}, ChallengeGone),
        (404, {"error": "not_found"}, ChallengeNotFound),
        (400, {"error": "invalid_client"}, AdminApiError),
        (500, {"error": "server_error"}, AdminApiError),
        (200, {}, AdminApiError),  # no redirect_to
    ],
)
def test_other_answers_to_accept_user_code(status, body, expected):
    admin_api, _ = api(status=status, body=body)

    with pytest.raises(expected) as raised:
        admin_api.accept_user_code("ch-1", "BCDFGHJK")
    if expected is ChallengeGone:
        assert raised.value.redirect_to == DEVICE_VERIFY


def test_the_request_url_is_read_from_login_and_consent_requests():
    body = {"challenge": "c", "request_url": DEVICE_VERIFY + "?device_verifier=v"}
    login_api, _ = api(body=body)
    consent_api, _ = api(body={**body, "request_url": 42})  # not a string: ignored

    assert login_api.get_login_request("c").from_device
    consent = consent_api.get_consent_request("c")
    assert consent.request_url == ""
    assert not consent.from_device
