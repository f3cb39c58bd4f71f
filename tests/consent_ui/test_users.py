"""users: claims per scope, password checks, constant-time habits, no plain password kept."""

from __future__ import annotations

from argon2 import PasswordHasher

from consent_ui import create_app
from consent_ui.users import SingleUserStore, User, configured_user, standard_claims
from tests.consent_ui.conftest import FakeAdminApi, base_config, fast_hasher


def store(**kwargs) -> SingleUserStore:
    settings = {"email": "foo@bar.com", "name": "Foo Bar", "password": "foobar", **kwargs}
    return SingleUserStore.from_settings(hasher=fast_hasher(), **settings)


def test_the_demo_user():
    user = configured_user("foo@bar.com", "Foo Bar")

    assert user.subject == "foo@bar.com"  # the stable id of the demo user is its email
    assert (user.given_name, user.family_name) == ("Foo", "Bar")
    assert user.preferred_username == "foo"
    assert user.get_id() == "foo@bar.com"
    assert user.is_authenticated and user.is_active and not user.is_anonymous


def test_a_single_word_name_has_no_given_or_family_name():
    user = configured_user("cher@example.com", "Cher")

    assert standard_claims(user, ["profile"]) == {
        "name": "Cher",
        "preferred_username": "cher",
    }


def test_claims_follow_the_scopes():
    user = configured_user("foo@bar.com", "Foo Bar")

    assert standard_claims(user, ["openid"]) == {}
    assert standard_claims(user, ["openid", "email"]) == {
        "email": "foo@bar.com",
        "email_verified": True,
    }
    profile = standard_claims(user, ["profile"])
    assert profile["name"] == "Foo Bar"
    assert "email" not in profile
    assert store().claims(user, ["profile", "email"]) == {**profile, **standard_claims(
        user, ["email"])}  # fmt: skip


def test_authenticate():
    users = store()

    assert users.authenticate("foo@bar.com", "foobar") == users.user
    assert users.authenticate(" Foo@Bar.COM ", "foobar") == users.user
    assert users.authenticate("foo@bar.com", "FOOBAR") is None
    assert users.authenticate("other@bar.com", "foobar") is None
    assert users.authenticate("", "") is None


def test_get_by_subject():
    users = store()

    assert users.get("foo@bar.com") == users.user
    assert users.get("someone-else") is None


class CountingHasher(PasswordHasher):
    verified: list[str] = []

    def verify(self, hash, password):
        self.verified.append(hash)
        return super().verify(hash, password)


def test_an_unknown_email_still_costs_a_hash_check():
    hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    hasher.verified = []
    users = SingleUserStore.from_settings("foo@bar.com", "Foo Bar", "foobar", hasher=hasher)

    assert users.authenticate("nobody@bar.com", "foobar") is None

    assert len(hasher.verified) == 1
    assert hasher.verified[0] != users.password_hash  # checked against the dummy hash


def test_a_configured_hash_is_used_as_is():
    hashed = fast_hasher().hash("s3cret-pass")

    users = store(password=None, password_hash=hashed)

    assert users.password_hash == hashed
    assert users.authenticate("foo@bar.com", "s3cret-pass") is not None
    assert users.authenticate("foo@bar.com", "foobar") is None


def test_the_plain_password_is_hashed_and_not_kept():
    app = create_app(base_config(USER_PASSWORD="plain-text-pass"), admin_api=FakeAdminApi())
    users = app.extensions["consent_ui"].users

    assert "USER_PASSWORD" not in app.config
    assert "plain-text-pass" not in repr(vars(users))
    assert users.password_hash.startswith("$argon2id$")
    assert users.authenticate("foo@bar.com", "plain-text-pass") is not None


def test_the_default_hasher_is_argon2id():
    users = SingleUserStore(User("s", "e@x.y", "N"), fast_hasher().hash("pw"))

    assert users.hasher.hash("x").startswith("$argon2id$")
