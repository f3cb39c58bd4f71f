"""/login under attack: the attacker is locked out, strangers wait a little, and the owner's
usual browser (its device cookie) is never blocked. Clock injected; nothing sleeps."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from consent_ui.devices import COOKIE, SALT
from tests.consent_ui.conftest import DEMO_EMAIL as OWNER
from tests.consent_ui.conftest import DEMO_PASSWORD as PASSWORD
from tests.consent_ui.conftest import Clock, Site, base_config

ATTACKER = "203.0.113.7"
HOME = "198.51.100.1"  # the owner's usual browser
ELSEWHERE = "192.0.2.44"  # the owner on a new machine, or another stranger


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(admin, clock) -> Site:
    return Site(admin, clock)


def attack(site: Site, times: int, address: str = ATTACKER, email: str = OWNER) -> list[int]:
    attacker = site.browser(address)
    return [attacker.login(password=f"guess-{n}", email=email).status_code for n in range(times)]


def retry_after(response) -> int:
    assert response.status_code == 429
    return int(response.headers["Retry-After"])


def test_the_owner_logs_in_from_their_usual_browser_while_an_attacker_hammers(site):
    home = site.browser(HOME)
    assert home.login().status_code == 302  # a login earlier: the device cookie

    statuses = attack(site, 50)

    assert statuses == [200] * 5 + [429] * 45  # five guesses checked, then locked out
    assert home.login().status_code == 302  # at once, no wait


def test_the_owner_on_a_new_machine_only_waits_seconds(site, clock):
    attack(site, 50)
    elsewhere = site.browser(ELSEWHERE)

    refused = elsewhere.login()
    wait = retry_after(refused)
    assert 1 <= wait <= 60  # a delay, not a lockout of minutes
    clock.now += wait

    assert elsewhere.login().status_code == 302


def test_the_attackers_pair_stays_locked_even_with_the_right_password(site, clock):
    attack(site, 50)
    checks = site.store.checks

    refused = site.browser(ATTACKER).login()

    assert retry_after(refused) == 300
    assert site.store.checks == checks
    clock.now += 300
    assert site.browser(ATTACKER).login().status_code == 302


def test_a_password_sent_during_a_delay_is_not_checked(site, admin):
    attack(site, 5)
    checks = site.store.checks

    for password in ("wrong", PASSWORD):
        refused = site.browser(ELSEWHERE).login(password=password)
        assert retry_after(refused) >= 1
    assert site.store.checks == checks
    assert admin.called("accept_login") == []


def test_delays_grow_under_spraying_from_many_addresses(site, clock):
    waits = []
    for number in range(12):
        address = f"10.0.0.{number}"
        response = site.browser(address).login(password="spray")
        if response.status_code == 429:
            waits.append(retry_after(response))
            clock.now += waits[-1]
            assert site.browser(address).login(password="spray").status_code == 200

    assert waits == [1, 2, 4, 8, 16, 32, 60]  # after the first five failures; capped


def test_the_device_cookie_is_signed_http_only_lax_for_login_and_expires(site):
    response = site.browser(HOME).login()

    [device] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/login", "Max-Age=7776000"):
        assert attribute in device


def signed(key: str, account: str, age: int = 0) -> str:
    """A device cookie as consent_ui would have made it ``age`` seconds ago."""
    serializer = URLSafeTimedSerializer(key, salt=SALT)
    with pytest.MonkeyPatch.context() as patch:
        signed_at = int(time.time()) - age
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        return serializer.dumps([account, "device-1"])


KEY = base_config()["SECRET_KEY"]
DEVICE_COOKIES = {
    "valid": (signed(KEY, OWNER), 302),
    "tampered": (signed(KEY, OWNER)[:-2] + "xx", 429),
    "expired": (signed(KEY, OWNER, age=7776000 + 10), 429),
    "for another account": (signed(KEY, "other@bar.com"), 429),
    "signed with another key": (signed("another-key", OWNER), 429),
    "garbage": ("\x00\xff%%", 429),
}


@pytest.mark.parametrize(("cookie", "status"), DEVICE_COOKIES.values(), ids=DEVICE_COOKIES)
def test_only_a_valid_device_cookie_for_the_account_is_trusted(site, cookie, status):
    attack(site, 5)
    owner = site.browser(HOME)
    owner.client.set_cookie(COOKIE, cookie, path="/login")

    assert owner.login().status_code == status  # 429: a stranger, who waits like anyone


def test_the_device_cookie_names_the_account_however_its_email_is_typed(site):
    home = site.browser(HOME)
    assert home.login(email=" Foo@Bar.COM").status_code == 302
    attack(site, 5)

    assert home.login(email="FOO@bar.com").status_code == 302


def test_a_device_is_locked_on_its_own_and_locks_nobody_else(site):
    home = site.browser(HOME)
    assert home.login().status_code == 302
    statuses = [home.login(password="typo").status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]  # that device is locked ...
    assert site.browser(HOME).login().status_code == 302  # ... not the address, nor account


def test_an_address_guessing_at_many_accounts_is_locked(site):
    statuses = [
        site.browser(ATTACKER).login(email=f"user{n}@bar.com", password="guess").status_code
        for n in range(21)
    ]

    assert statuses == [200] * 20 + [429]
    assert site.browser(ATTACKER).login().status_code == 429
    assert site.browser(ELSEWHERE).login().status_code == 302


def test_throttle_settings_come_from_the_config(admin):
    site = Site(admin, THROTTLE_MAX_FAILURES=2, THROTTLE_LOCKOUT=7)

    assert attack(site, 3) == [200, 200, 429]
    assert retry_after(site.browser(ATTACKER).login()) == 7
    assert site.store.checks == 2
