"""DPoP proof verification (RFC 9449 §4.3): real proofs signed with joserfc, a table of
bad ones, nonces, ``htu`` normalization, and hostile input that must only ever raise
``DpopError`` (with a description fit for an RFC 6749 error_description)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import uuid
import warnings

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from authserver.oauth2 import dpop
from authserver.oauth2.dpop import (
    DPOP_ALGORITHMS,
    DpopError,
    DpopProof,
    DpopRules,
    NonceSource,
    access_token_hash,
    normalize_htu,
    replay_key,
    thumbprint,
    verify_proof,
)

NOW = 1_800_000_000
URL = "https://as.example.com/oauth2/token"
SAFE_DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
NONCE_KEY = b"k" * 32


def _quietly(make):
    # joserfc warns about the "EdDSA" name and about small RSA keys; the tests want both.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return make()


EC_KEY = ECKey.generate_key("P-256")
EC_OTHER = ECKey.generate_key("P-256")
EC_P384 = ECKey.generate_key("P-384")
RSA_KEY = RSAKey.generate_key(2048)
RSA_1024 = _quietly(lambda: RSAKey.generate_key(1024))
ED_KEY = OKPKey.generate_key("Ed25519")
KEYS = {"ES256": EC_KEY, "RS256": RSA_KEY, "PS256": RSA_KEY, "EdDSA": ED_KEY}


def b64(data: bytes | str) -> str:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def claims(**changes) -> dict:
    base = {"jti": str(uuid.uuid4()), "htm": "POST", "htu": URL, "iat": NOW}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not ...}


def make_proof(key=EC_KEY, alg="ES256", *, payload=None, signer=None, **header_changes) -> str:
    """A proof signed by ``signer`` (default ``key``), whose header carries ``key``'s
    public JWK; ``...`` as a value removes a member."""
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    header.update(header_changes)
    header = {name: value for name, value in header.items() if value is not ...}
    body = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(claims() if payload is None else payload)
    )
    return _quietly(lambda: jws.serialize_compact(header, body, signer or key, algorithms=[alg]))


def signed_if_possible(key=EC_KEY, alg="ES256", **header_changes) -> str:
    """A signed proof, or, when joserfc will not sign such a header, one by hand."""
    try:
        return make_proof(key, alg, **header_changes)
    except Exception:
        header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
        return unsigned({**header, **header_changes})


def unsigned(header, payload=None, signature="c2lnbmF0dXJl") -> str:
    """A compact JWS assembled by hand: ``header`` is bytes or a JSON value."""
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw_payload = json.dumps(claims() if payload is None else payload).encode()
    return f"{b64(raw_header)}.{b64(raw_payload)}.{signature}"


def verify(values, **options) -> DpopProof:
    options = {"method": "POST", "url": URL, "now": NOW, **options}
    return verify_proof(values, **options)


def refusal(values, **options) -> DpopError:
    with pytest.raises(DpopError) as caught:
        verify(values, **options)
    assert SAFE_DESCRIPTION.fullmatch(caught.value.description), caught.value.description
    assert str(caught.value) == caught.value.description
    return caught.value


# --- valid proofs --------------------------------------------------------------------


@pytest.mark.parametrize("alg", DPOP_ALGORITHMS)
def test_valid_proof_for_each_algorithm(alg):
    key = KEYS[alg]
    payload = claims()
    proof = verify([make_proof(key, alg, payload=payload)])
    assert proof == DpopProof(
        jkt=key.thumbprint(), jti=payload["jti"], iat=NOW, htm="POST", htu=URL
    )


def test_result_carries_the_proofs_htu_as_sent():
    proof = verify([make_proof(payload=claims(htu=URL + "?x=1"))], url=URL + "?y=2")
    assert proof.htu == URL + "?x=1"


@pytest.mark.parametrize("iat", [NOW - 300, NOW + 60])
def test_iat_at_the_bounds_is_accepted(iat):
    assert verify([make_proof(payload=claims(iat=iat))]).iat == iat


def test_access_token_with_matching_ath():
    token = "ory_at_abc.def"
    proof = make_proof(payload=claims(ath=access_token_hash(token)))
    assert verify([proof], access_token=token).jkt == EC_KEY.thumbprint()


def test_ath_present_but_not_required_is_ignored():
    assert verify([make_proof(payload=claims(ath="anything"))]).htm == "POST"


def test_expected_jkt_matches():
    assert verify([make_proof()], expected_jkt=EC_KEY.thumbprint()).jkt == EC_KEY.thumbprint()


def test_surrounding_whitespace_is_tolerated():
    assert verify([f" {make_proof()} "]).htm == "POST"


# --- thumbprints and hashes ----------------------------------------------------------

RFC7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4v"
    "MQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_thumbprint_of_the_rfc7638_example():
    assert thumbprint(RFC7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("key", [EC_KEY, RSA_KEY, ED_KEY], ids=["EC", "RSA", "OKP"])
def test_thumbprint_agrees_with_joserfc(key):
    assert thumbprint(key.as_dict(private=False)) == key.thumbprint()


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "RSA", "n": "AQAB"},
        {"kty": "EC", "crv": "P-256", "x": 1, "y": "y"},
        {"kty": ["RSA"]},
        {},
        [],
    ],
    ids=["oct", "rsa-no-e", "ec-x-int", "kty-list", "empty", "not-a-dict"],
)
def test_thumbprint_refuses_other_keys(jwk):
    with pytest.raises(DpopError) as caught:
        thumbprint(jwk)
    assert caught.value.error == "invalid_dpop_proof"


def test_access_token_hash():
    digest = hashlib.sha256(b"token-value").digest()
    assert access_token_hash("token-value") == b64(digest)


def test_replay_key_is_unambiguous():
    assert replay_key("a", "b\x00c") != replay_key("a\x00b", "c")
    assert re.fullmatch(r"[0-9a-f]{64}", replay_key("jkt", "jti"))


# --- the table of bad proofs ---------------------------------------------------------

EC_PUBLIC = EC_KEY.as_dict(private=False)
NESTED = b"[" * 10_000 + b"]" * 10_000
BIG_RULES = DpopRules(max_length=1_000_000)


def _hs256() -> str:
    secret = OctKey.generate_key(256)
    return make_proof(secret, "HS256", jwk={"kty": "oct", "k": secret.as_dict()["k"]})


def _alg_none() -> str:
    return unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": EC_PUBLIC})


def _tampered() -> str:
    header, _, signature = make_proof().split(".")
    return f"{header}.{b64(json.dumps(claims(htm='POST')))}.{signature}"


def _rsa_1024() -> str:
    return _quietly(lambda: make_proof(RSA_1024, "RS256"))


BAD_PROOFS = {
    # check 1: the header value itself
    "two-values": lambda: {"values": [make_proof(), make_proof()]},
    "no-value": lambda: {"values": []},
    "values-not-a-list": lambda: {"values": make_proof()},
    "value-not-a-string": lambda: {"values": [make_proof().encode()]},
    "empty": lambda: {"values": [""]},
    "blank": lambda: {"values": ["   "]},
    "garbage": lambda: {"values": ["garbage"]},
    "two-parts": lambda: {"values": ["eyJhbGciOiJFUzI1NiJ9.eyJ9"]},
    "five-parts-jwe": lambda: {"values": ["a.b.c.d.e"]},
    "json-serialization": lambda: {"values": ['{"payload":"e30","signatures":[]}']},
    "not-base64": lambda: {"values": ["a*b.c+d.e/f"]},
    "base64-bad-length": lambda: {"values": ["A." + make_proof().split(".", 1)[1]]},
    "nul-bytes": lambda: {"values": [make_proof() + "\x00"]},
    "non-ascii": lambda: {"values": [make_proof()[:10] + "é" + make_proof()[10:]]},
    "lone-surrogate": lambda: {"values": ["\ud800" + make_proof()]},
    "100-kb": lambda: {"values": ["A" * 100_000]},
    # check 2: the protected header
    "header-not-json": lambda: {"values": [unsigned(b"not json")]},
    "header-not-utf8": lambda: {"values": [unsigned(b"\xff\xfe{}")]},
    "header-a-list": lambda: {"values": [unsigned([{"typ": "dpop+jwt"}])]},
    "header-nested-default-rules": lambda: {"values": [unsigned(NESTED)]},
    "header-nested-big-rules": lambda: {"values": [unsigned(NESTED)], "rules": BIG_RULES},
    "header-nested-object": lambda: {
        "values": [unsigned(b'{"a":' * 10_000 + b"1" + b"}" * 10_000)],
        "rules": BIG_RULES,
    },
    "header-duplicate-members": lambda: {
        "values": [unsigned(b'{"typ":"dpop+jwt","alg":"ES256","alg":"ES256"}')]
    },
    "header-nan": lambda: {"values": [unsigned(b'{"typ":"dpop+jwt","x":NaN}')]},
    "typ-missing": lambda: {"values": [make_proof(typ=...)]},
    "typ-jwt": lambda: {"values": [make_proof(typ="JWT")]},
    "typ-not-a-string": lambda: {"values": [signed_if_possible(typ=["dpop+jwt"])]},
    "alg-none": lambda: {"values": [_alg_none()]},
    "alg-hs256-oct-jwk": lambda: {"values": [_hs256()]},
    "alg-hs256-allowed-by-rules": lambda: {
        "values": [_hs256()],
        "rules": DpopRules(algorithms=("HS256", "ES256")),
    },
    "alg-es384-not-allowed": lambda: {"values": [make_proof(EC_P384, "ES384")]},
    "alg-not-in-rules": lambda: {
        "values": [make_proof()],
        "rules": DpopRules(algorithms=("RS256",)),
    },
    "alg-not-a-string": lambda: {"values": [unsigned({"typ": "dpop+jwt", "alg": 256})]},
    "crit": lambda: {"values": [signed_if_possible(crit=["exp"], exp=1)]},
    "jwk-missing": lambda: {"values": [make_proof(jwk=...)]},
    "jwk-a-string": lambda: {"values": [signed_if_possible(jwk=json.dumps(EC_PUBLIC))]},
    "jwk-private-d": lambda: {"values": [make_proof(jwk=EC_KEY.as_dict(private=True))]},
    "jwk-private-rsa": lambda: {
        "values": [make_proof(RSA_KEY, "RS256", jwk=RSA_KEY.as_dict(private=True))]
    },
    "jwk-oct-with-es256": lambda: {"values": [make_proof(jwk={"kty": "oct", "k": "c2VjcmV0"})]},
    "jwk-missing-y": lambda: {
        "values": [make_proof(jwk={"kty": "EC", "crv": "P-256", "x": EC_PUBLIC["x"]})]
    },
    "jwk-x-not-a-string": lambda: {"values": [make_proof(jwk={**EC_PUBLIC, "x": 12})]},
    "jwk-point-not-on-curve": lambda: {
        "values": [make_proof(jwk={**EC_PUBLIC, "y": EC_PUBLIC["x"]})]
    },
    "rsa-1024": lambda: {"values": [_rsa_1024()]},
    "es256-with-rsa-key": lambda: {
        "values": [make_proof(EC_KEY, "ES256", jwk=RSA_KEY.as_dict(private=False))]
    },
    "es256-with-p384-key": lambda: {"values": [make_proof(jwk=EC_P384.as_dict(private=False))]},
    "eddsa-with-ec-key": lambda: {"values": [make_proof(ED_KEY, "EdDSA", jwk=EC_PUBLIC)]},
    "rs256-with-ec-key": lambda: {"values": [make_proof(RSA_KEY, "RS256", jwk=EC_PUBLIC)]},
    # check 3: the signature
    "signed-by-another-key": lambda: {"values": [make_proof(signer=EC_OTHER)]},
    "tampered-payload": lambda: {"values": [_tampered()]},
    "signature-garbage": lambda: {"values": [make_proof().rsplit(".", 1)[0] + ".AAAA"]},
    # check 4: the claims
    "payload-not-json": lambda: {"values": [make_proof(payload=b"{not json")]},
    "payload-not-utf8": lambda: {"values": [make_proof(payload=b'{"jti":"\xff"}')]},
    "payload-nan": lambda: {"values": [make_proof(payload=b'{"iat":NaN}')]},
    "payload-a-list": lambda: {"values": [make_proof(payload=[claims()])]},
    "jti-missing": lambda: {"values": [make_proof(payload=claims(jti=...))]},
    "jti-empty": lambda: {"values": [make_proof(payload=claims(jti=""))]},
    "jti-too-long": lambda: {"values": [make_proof(payload=claims(jti="j" * 513))]},
    "jti-a-number": lambda: {"values": [make_proof(payload=claims(jti=7))]},
    "htm-missing": lambda: {"values": [make_proof(payload=claims(htm=...))]},
    "htu-missing": lambda: {"values": [make_proof(payload=claims(htu=...))]},
    "htu-a-list": lambda: {"values": [make_proof(payload=claims(htu=[URL]))]},
    "iat-missing": lambda: {"values": [make_proof(payload=claims(iat=...))]},
    "iat-string": lambda: {"values": [make_proof(payload=claims(iat=str(NOW)))]},
    "iat-float": lambda: {"values": [make_proof(payload=claims(iat=float(NOW)))]},
    "iat-bool": lambda: {"values": [make_proof(payload=claims(iat=True))], "now": 1},
    "iat-huge": lambda: {"values": [make_proof(payload=claims(iat=10**30))]},
    # checks 5-7: method, URL, time
    "htm-other-method": lambda: {"values": [make_proof(payload=claims(htm="GET"))]},
    "htm-lowercase": lambda: {"values": [make_proof(payload=claims(htm="post"))]},
    "htu-other-path": lambda: {"values": [make_proof(payload=claims(htu=URL + "/x"))]},
    "htu-other-host": lambda: {
        "values": [make_proof(payload=claims(htu="https://evil.example.com/oauth2/token"))]
    },
    "htu-other-scheme": lambda: {
        "values": [make_proof(payload=claims(htu="http://as.example.com/oauth2/token"))]
    },
    "htu-other-port": lambda: {
        "values": [make_proof(payload=claims(htu="https://as.example.com:8443/oauth2/token"))]
    },
    "htu-relative": lambda: {"values": [make_proof(payload=claims(htu="/oauth2/token"))]},
    "htu-ftp": lambda: {
        "values": [make_proof(payload=claims(htu="ftp://as.example.com/oauth2/token"))]
    },
    "htu-userinfo": lambda: {
        "values": [make_proof(payload=claims(htu="https://u@as.example.com/oauth2/token"))]
    },
    "htu-bad-port": lambda: {
        "values": [make_proof(payload=claims(htu="https://as.example.com:99999/oauth2/token"))]
    },
    "htu-bad-ipv6": lambda: {"values": [make_proof(payload=claims(htu="https://[::1/token"))]},
    "htu-non-ascii": lambda: {
        "values": [make_proof(payload=claims(htu="https://as.exämple.com/oauth2/token"))]
    },
    "iat-stale": lambda: {"values": [make_proof(payload=claims(iat=NOW - 301))]},
    "iat-future": lambda: {"values": [make_proof(payload=claims(iat=NOW + 61))]},
    # checks 9-10: the access token and the key binding
    "ath-wrong": lambda: {
        "values": [make_proof(payload=claims(ath=access_token_hash("other")))],
        "access_token": "token",
    },
    "ath-missing": lambda: {"values": [make_proof()], "access_token": "token"},
    "ath-not-a-string": lambda: {
        "values": [make_proof(payload=claims(ath=["x"]))],
        "access_token": "token",
    },
    "ath-non-ascii": lambda: {
        "values": [make_proof(payload=claims(ath="é"))],
        "access_token": "token",
    },
    "expected-jkt-mismatch": lambda: {
        "values": [make_proof()],
        "expected_jkt": EC_OTHER.thumbprint(),
    },
    "expected-jkt-non-ascii": lambda: {"values": [make_proof()], "expected_jkt": "é"},
}


@pytest.mark.parametrize("case", BAD_PROOFS.values(), ids=BAD_PROOFS.keys())
def test_bad_proof_is_refused(case):
    options = case()
    values = options.pop("values")
    error = refusal(values, **options)
    assert error.error == "invalid_dpop_proof"
    assert error.nonce is None


def test_htu_query_and_fragment_are_ignored():
    proof = make_proof(payload=claims(htu=URL + "?a=1#frag"))
    assert verify([proof], url=URL + "?b=2").htu == URL + "?a=1#frag"


def test_htu_is_compared_after_normalization():
    proof = make_proof(payload=claims(htu="HTTPS://AS.Example.COM:443/oauth2/token"))
    assert verify([proof]).jkt == EC_KEY.thumbprint()


def test_checks_are_a_table_ending_with_replay():
    assert isinstance(dpop._CHECKS, tuple) and len(dpop._CHECKS) > 5
    assert dpop._CHECKS[-1] is dpop._check_replay


# --- replay --------------------------------------------------------------------------


class SeenSet:
    def __init__(self):
        self.seen: dict[str, int] = {}

    def __call__(self, key: str, expires_at: int) -> bool:
        if key in self.seen:
            return False
        self.seen[key] = expires_at
        return True


def test_replay_is_refused():
    use_once = SeenSet()
    payload = claims()
    proof = make_proof(payload=payload)
    verify([proof], use_once=use_once)
    assert use_once.seen == {replay_key(EC_KEY.thumbprint(), payload["jti"]): NOW + 300 + 60}
    assert refusal([proof], use_once=use_once).error == "invalid_dpop_proof"


def test_same_jti_under_another_key_is_not_a_replay():
    use_once = SeenSet()
    payload = claims()
    verify([make_proof(payload=payload)], use_once=use_once)
    verify([make_proof(EC_OTHER, payload=payload)], use_once=use_once)
    assert len(use_once.seen) == 2


def test_invalid_proof_does_not_consume_its_jti():
    use_once = SeenSet()
    proof = make_proof()
    refusal([proof], method="GET", use_once=use_once)
    refusal([proof], access_token="token", use_once=use_once)
    refusal([proof], nonces=NonceSource(NONCE_KEY, clock=lambda: NOW), use_once=use_once)
    assert use_once.seen == {}
    verify([proof], use_once=use_once)


# --- nonces --------------------------------------------------------------------------


class Clock:
    def __init__(self, now: int = NOW):
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_missing_nonce_asks_for_one():
    nonces = NonceSource(NONCE_KEY, clock=Clock())
    error = refusal([make_proof()], nonces=nonces)
    assert error.error == "use_dpop_nonce"
    assert error.nonce == nonces.current()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", error.nonce)


@pytest.mark.parametrize("nonce", ["wrong", "", "é", 42, None, ["x"]])
def test_wrong_nonce_asks_for_a_fresh_one(nonce):
    nonces = NonceSource(NONCE_KEY, clock=Clock())
    error = refusal([make_proof(payload=claims(nonce=nonce))], nonces=nonces)
    assert error.error == "use_dpop_nonce"
    assert error.nonce == nonces.current()


def test_current_nonce_is_accepted():
    nonces = NonceSource(NONCE_KEY, clock=Clock())
    assert verify([make_proof(payload=claims(nonce=nonces.current()))], nonces=nonces)


def test_nonce_is_not_required_unless_asked():
    assert verify([make_proof(payload=claims(nonce="whatever"))]).htm == "POST"


def test_nonce_windows():
    clock = Clock()
    nonces = NonceSource(NONCE_KEY, window=300, clock=clock)
    nonce = nonces.current()
    clock.now += 300  # the next window: still accepted
    assert nonces.accepts(nonce)
    assert nonces.current() != nonce
    assert verify([make_proof(payload=claims(nonce=nonce))], nonces=nonces)
    clock.now += 300  # two windows on: refused
    assert not nonces.accepts(nonce)
    error = refusal([make_proof(payload=claims(nonce=nonce))], nonces=nonces)
    assert error.error == "use_dpop_nonce"
    assert error.nonce == nonces.current() != nonce


def test_nonce_sources_sharing_a_key_agree():
    clock = Clock()
    one, two = NonceSource(NONCE_KEY, clock=clock), NonceSource(NONCE_KEY, clock=clock)
    assert two.accepts(one.current()) and one.accepts(two.current())
    assert not NonceSource(b"o" * 32, clock=clock).accepts(one.current())


@pytest.mark.parametrize("key", [b"short", b"x" * 31, "s" * 32])
def test_nonce_key_must_be_32_bytes(key):
    with pytest.raises(ValueError):
        NonceSource(key)


# --- htu normalization ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://as.example.com:443/token", "https://as.example.com/token"),
        ("http://as.example.com:80/token", "http://as.example.com/token"),
        ("https://as.example.com:80/token", "https://as.example.com:80/token"),
        ("http://as.example.com:443/token", "http://as.example.com:443/token"),
        ("HTTPS://AS.Example.COM/Token", "https://as.example.com/Token"),
        ("https://as.example.com/token?a=1&b=2", "https://as.example.com/token"),
        ("https://as.example.com/token#frag", "https://as.example.com/token"),
        ("https://as.example.com/token?a=1#frag", "https://as.example.com/token"),
        ("https://as.example.com", "https://as.example.com/"),
        ("http://127.0.0.1:4444/token", "http://127.0.0.1:4444/token"),
        ("https://[::1]:443/token", "https://[::1]/token"),
        ("https://[::1]:8443/token", "https://[::1]:8443/token"),
    ],
)
def test_normalize_htu(url, normal):
    assert normalize_htu(url) == normal


@pytest.mark.parametrize(
    "url",
    ["", "/token", "as.example.com/token", "ftp://x/y", "https:///token", "https://a b/c", 7],
)
def test_normalize_htu_refuses_non_urls(url):
    with pytest.raises(DpopError) as caught:
        normalize_htu(url)
    assert caught.value.error == "invalid_dpop_proof"


# --- hostile input: only ever DpopError ----------------------------------------------

ODD_VALUES = [None, True, 0, -1, 1.5, 10**40, "", "x" * 600, [], {}, ["a"], {"a": 1}, "\ud800"]


@pytest.mark.parametrize("name", ["typ", "alg", "jwk", "crit"])
@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_header_members(name, value):
    refusal([signed_if_possible(**{name: value})])


@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_kid_is_no_concern_of_ours(value):
    # RFC 9449 says nothing of kid; a string one is fine, anything else only DpopError.
    try:
        verify([signed_if_possible(kid=value)])
    except DpopError as error:
        assert SAFE_DESCRIPTION.fullmatch(error.description)


@pytest.mark.parametrize("name", ["kty", "crv", "x", "y", "n", "e"])
@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_jwk_members(name, value):
    key = RSA_KEY if name in ("n", "e") else EC_KEY
    alg = "RS256" if key is RSA_KEY else "ES256"
    jwk = {**key.as_dict(private=False), name: value}
    refusal([signed_if_possible(key, alg, jwk=jwk)])


@pytest.mark.parametrize("name", ["jti", "htm", "htu", "iat", "ath", "nonce"])
@pytest.mark.parametrize("value", ODD_VALUES)
def test_odd_claims(name, value):
    proof = make_proof(payload=claims(**{name: value}))
    try:
        verify(
            [proof],
            access_token="token",
            nonces=NonceSource(NONCE_KEY, clock=Clock()),
        )
    except DpopError as error:
        assert SAFE_DESCRIPTION.fullmatch(error.description)
    else:
        pytest.fail("a proof with an odd claim and no good ath or nonce was accepted")


def test_random_mutations_only_raise_dpop_error():
    rng = random.Random(9449)
    alphabet = 'AZaz09-_.=+/ {}"\\\x00\x7fé'
    for _ in range(600):
        alg = rng.choice(DPOP_ALGORITHMS)
        proof = list(make_proof(KEYS[alg], alg))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(proof))
            action = rng.choice(("replace", "insert", "delete", "truncate"))
            if action == "replace":
                proof[position] = rng.choice(alphabet)
            elif action == "insert":
                proof.insert(position, rng.choice(alphabet))
            elif action == "delete":
                del proof[position]
            else:
                del proof[position:]
            if not proof:
                proof = ["."]
        try:
            verify(["".join(proof)])
        except DpopError as error:
            assert error.error == "invalid_dpop_proof"
            assert SAFE_DESCRIPTION.fullmatch(error.description)


def test_error_descriptions_are_sanitized():
    error = DpopError("invalid_dpop_proof", 'bad "quote" \\ é\n')
    assert SAFE_DESCRIPTION.fullmatch(error.description)
