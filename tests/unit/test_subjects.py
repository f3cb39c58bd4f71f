"""Pairwise subject identifiers (OIDC Core §8) with Ory Hydra's inputs
(``consent/subject_identifier_pairwise.go``): SHA-256 over sector, subject and salt."""

from __future__ import annotations

import hashlib

import pytest

from authserver.domain.clients import DEVICE_CODE_GRANT, Client, InvalidClientMetadata
from authserver.domain.subjects import (
    NoSector,
    PairwiseUnavailable,
    is_subject_of,
    pairwise_subject,
    sector_of,
    subject_for,
)
from authserver.oauth2.sectors import check_sector_identifier
from authserver.outbound import FetchPolicy

SALT = "a-salt-of-some-length"
BOTH = ("public", "pairwise")


def hydra_pairwise(sector: str, subject: str, salt: str) -> str:
    """Hydra: h := sha256.New(); h.Write(id); h.Write(subject); h.Write(salt); "%x"."""
    h = hashlib.sha256()
    for part in (sector, subject, salt):
        h.update(part.encode("utf-8"))
    return h.hexdigest()


def pairwise_client(**fields) -> Client:
    return Client(client_id="c", subject_type="pairwise", **fields)


def test_the_value_is_hydras():
    value = pairwise_subject("app.example", "user@example.com", SALT)
    assert value == hydra_pairwise("app.example", "user@example.com", SALT)
    assert len(value) == 64 and value == value.lower()


def test_a_fixed_value_does_not_drift():
    # Pinned: a change here changes every pairwise user's sub.
    assert pairwise_subject("app.example", "alice", "12345678") == (
        "5624ff118292c1f2dbe407f8bd735bc0e589b18ffc6dd4f3aa4f64841dd8860c"
    )


def test_non_ascii_subjects_hash_as_utf8():
    assert pairwise_subject("app.example", "zoë", SALT) == hydra_pairwise(
        "app.example", "zoë", SALT
    )


@pytest.mark.parametrize(
    ("fields", "sector"),
    [
        # OIDC Core §8.1: the host of the sector_identifier_uri (Hydra: the whole URI).
        (
            {
                "sector_identifier_uri": "https://Sector.example:8443/ids.json",
                "redirect_uris": ("https://a.example/cb", "https://b.example/cb"),
            },
            "sector.example",
        ),
        ({"redirect_uris": ("https://app.example/cb",)}, "app.example"),
        # RFC 3986's host: without the port.
        ({"redirect_uris": ("http://127.0.0.1:9999/cb",)}, "127.0.0.1"),
        # OIDC Core §8.1: several redirect URIs on one host share it.
        ({"redirect_uris": ("https://app.example/cb", "https://app.example/other")}, "app.example"),
        ({"redirect_uris": ("com.example.app:/oauth",)}, None),  # no host: Hydra hashes ""
        ({"redirect_uris": ("https://a.example/cb", "https://b.example/cb")}, None),
        ({"redirect_uris": ()}, None),
    ],
)
def test_the_sector_of_a_client(fields, sector):
    client = pairwise_client(**fields)
    if sector is None:
        with pytest.raises(NoSector):
            sector_of(client)
    else:
        assert sector_of(client) == sector


def test_redirect_uris_and_a_sector_uri_of_the_same_host_are_one_sector():
    # OIDC Core §8.1 (Hydra, hashing the whole URI, would make these two sectors).
    by_host = pairwise_client(redirect_uris=("https://app.example/cb",))
    by_document = pairwise_client(
        redirect_uris=("https://app.example/cb",),
        sector_identifier_uri="https://app.example/sector.json",
    )
    assert subject_for(by_host, "u", subject_types=BOTH, salt=SALT) == subject_for(
        by_document, "u", subject_types=BOTH, salt=SALT
    )


def test_a_public_client_sees_the_subject():
    client = Client(client_id="c", redirect_uris=("https://a.example/cb", "https://b.example/cb"))
    assert subject_for(client, "alice", subject_types=("public",), salt="") == "alice"


def test_a_pairwise_client_sees_its_pairwise_identifier():
    client = pairwise_client(redirect_uris=("https://app.example/cb",))
    assert subject_for(client, "alice", subject_types=BOTH, salt=SALT) == hydra_pairwise(
        "app.example", "alice", SALT
    )


def test_salt_subject_and_sector_each_change_the_value():
    base = pairwise_subject("s", "u", SALT)
    assert len({base, pairwise_subject("t", "u", SALT), pairwise_subject("s", "v", SALT)}) == 3
    assert pairwise_subject("s", "u", SALT + "x") != base


def test_a_pairwise_client_never_falls_back_to_the_real_subject():
    client = pairwise_client(redirect_uris=("https://app.example/cb",))
    with pytest.raises(PairwiseUnavailable):
        subject_for(client, "alice", subject_types=("public",), salt=SALT)
    spread = pairwise_client(redirect_uris=("https://a.example/cb", "https://b.example/cb"))
    with pytest.raises(NoSector):
        subject_for(spread, "alice", subject_types=BOTH, salt=SALT)


@pytest.mark.parametrize(
    ("claimed", "client_known", "matches"),
    [
        ("alice", True, True),  # the real subject always names the user
        ("pairwise", True, True),  # the client's pairwise identifier for alice
        ("pairwise", False, False),  # unknown client: nothing to map it with
        ("bob", True, False),
    ],
)
def test_an_id_token_hint_names_the_user(claimed, client_known, matches):
    client = pairwise_client(redirect_uris=("https://app.example/cb",))
    if claimed == "pairwise":
        claimed = subject_for(client, "alice", subject_types=BOTH, salt=SALT)
    assert (
        is_subject_of(
            client if client_known else None,
            claimed,
            "alice",
            subject_types=BOTH,
            salt=SALT,
        )
        is matches
    )


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({"redirect_uris": ("https://a.example/cb", "https://b.example/cb")}, False),
        ({"redirect_uris": ("https://a.example/cb", "https://a.example/two")}, True),
        ({"redirect_uris": ("com.example.app:/cb",)}, False),
        ({"grant_types": (DEVICE_CODE_GRANT,)}, False),  # no redirect URI: no sector
        # A client acting for nobody needs no sector (a pairwise-only server has them).
        ({"grant_types": ("client_credentials",)}, True),
    ],
)
def test_the_sector_check_without_a_document(fields, accepted):
    client = pairwise_client(**fields)
    if accepted:
        check_sector_identifier(client, FetchPolicy())
    else:
        with pytest.raises(InvalidClientMetadata):
            check_sector_identifier(client, FetchPolicy())
