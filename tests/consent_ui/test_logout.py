"""/logout: ask, then accept (and sign out here too) or reject (and say so)."""

from __future__ import annotations

from tests.consent_ui.conftest import AUTH, form_of, submit


def logout_page(client, admin, **request):
    admin.add_logout(**request)
    return client.get("/logout?logout_challenge=logout-1")


def test_the_page_asks_with_two_different_buttons(client, admin):
    response = logout_page(client, admin)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Log out?" in html
    form = form_of(response)
    assert form.buttons() == {"yes": "Yes, log me out", "no": "No, stay logged in"}
    assert 'class="button danger" id="yes"' in html
    assert 'class="button secondary" id="no"' in html
    assert admin.answers() == []  # only asking so far


def test_yes_accepts_and_redirects(client, admin):
    page = logout_page(client, admin)

    response = submit(client, page, "yes")

    assert response.status_code == 302
    assert (
        response.headers["Location"] == f"{AUTH}/oauth2/sessions/logout?logout_verifier=v-logout-1"
    )
    assert [call.method for call in admin.answers()] == ["accept_logout"]


def test_yes_also_signs_the_user_out_of_this_app(auth, admin):
    auth.login(remember=True)
    with auth.client.session_transaction() as session:
        assert session["_user_id"] == "foo@bar.com"
    page = logout_page(auth.client, admin)
    assert "signed in as <strong>Foo Bar</strong>" in page.get_data(as_text=True)

    response = submit(auth.client, page, "yes")

    assert response.status_code == 302
    with auth.client.session_transaction() as session:
        assert "_user_id" not in session
    cleared = [h for h in response.headers.getlist("Set-Cookie") if "consent_ui_remember" in h]
    assert cleared and ("Max-Age=0" in cleared[0] or "1970" in cleared[0])


def test_no_rejects_and_says_you_are_still_logged_in(client, admin):
    page = logout_page(client, admin, client_uri="https://app.example/home")

    response = submit(client, page, "no")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You are still logged in." in html
    assert 'href="https://app.example/home"' in html
    assert "Back to Example App" in html
    assert [call.method for call in admin.answers()] == ["reject_logout"]


def test_no_without_a_client_has_no_link_back(client, admin):
    page = logout_page(client, admin, with_client=False)

    response = submit(client, page, "no")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You are still logged in." in html
    assert "Back to" not in html


def test_no_link_back_to_a_non_http_client_uri(client, admin):
    page = logout_page(client, admin, client_uri="javascript:alert(1)")

    response = submit(client, page, "no")

    assert "javascript:" not in response.get_data(as_text=True)


def test_a_used_logout_challenge_is_gone(client, admin):
    page = logout_page(client, admin)
    submit(client, page, "yes")

    again = submit(client, page, "no")

    assert again.status_code == 410
    assert "Start again" in again.get_data(as_text=True)
    assert [call.method for call in admin.answers()] == ["accept_logout"]


def test_missing_unknown_and_unreachable(client, admin):
    assert client.get("/logout").status_code == 400
    assert client.get("/logout?logout_challenge=unknown").status_code == 400
    admin.down = True
    response = client.get("/logout?logout_challenge=logout-1")
    assert response.status_code == 503
