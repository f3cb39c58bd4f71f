"""Opaque tokens: format, HMAC verification, key rotation, and garbage resistance."""

from __future__ import annotations

import base64
import re

import pytest

from authserver.domain.secrets import SystemSecrets
from authserver.domain.tokens import (
    MAX_TOKEN_LENGTH,
    OpaqueTokenCodec,
    TokenKind,
    signature_digest,
)

KEY_A = SystemSecrets(["secret-a-0123456789abcdef"]).token_hmac_keys[0]
KEY_B = SystemSecrets(["secret-b-0123456789abcdef"]).token_hmac_keys[0]
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TOKEN_SHAPE = re.compile(r"^ory_(at|rt|ac)_([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$")


@pytest.fixture
def codec() -> OpaqueTokenCodec:
    return OpaqueTokenCodec([KEY_A])


@pytest.mark.parametrize(
    ("kind", "prefix"),
    [
        (TokenKind.ACCESS_TOKEN, "ory_at_"),
        (TokenKind.REFRESH_TOKEN, "ory_rt_"),
        (TokenKind.AUTHORIZATION_CODE, "ory_ac_"),
    ],
)
def test_format(codec, kind, prefix):
    token = codec.mint(kind)
    assert token.value.startswith(prefix)
    match = TOKEN_SHAPE.match(token.value)
    assert match, token.value
    # Both halves are 32 bytes, base64url without padding.
    for part in match.group(2, 3):
        assert len(base64.urlsafe_b64decode(part + "=")) == 32
    assert TokenKind.of(token.value) is kind


def test_token_kind_of_unknown_prefix():
    assert TokenKind.of("ory_xx_abc") is None
    assert TokenKind.of("") is None


@pytest.mark.parametrize("kind", list(TokenKind))
def test_verify_returns_minted_digest(codec, kind):
    token = codec.mint(kind)
    assert codec.verify(token.value, kind) == token.signature_digest


def test_digest_is_sha256_of_signature_not_the_token(codec):
    token = codec.mint(TokenKind.ACCESS_TOKEN)
    body, signature = token.value.split(".")
    assert re.fullmatch(r"[0-9a-f]{64}", token.signature_digest)
    assert token.signature_digest == signature_digest(signature)
    assert signature not in token.signature_digest
    assert body not in token.signature_digest
    assert token.value not in token.signature_digest
    random_part = body[len("ory_at_") :]
    assert random_part not in token.signature_digest


def test_two_mints_differ(codec):
    tokens = [codec.mint(TokenKind.ACCESS_TOKEN) for _ in range(50)]
    assert len({token.value for token in tokens}) == 50
    assert len({token.signature_digest for token in tokens}) == 50
    bodies = {token.value.split(".")[0] for token in tokens}
    assert len(bodies) == 50


def _substitutions(text: str, start: int):
    """Every single-character change of ``text`` at positions >= start."""
    for index in range(start, len(text)):
        for char in B64URL_ALPHABET:
            if char != text[index]:
                yield text[:index] + char + text[index + 1 :]


def test_tampering_with_body_fails(codec):
    token = codec.mint(TokenKind.ACCESS_TOKEN)
    body, signature = token.value.split(".")
    tampered = list(_substitutions(body, len("ory_at_")))
    assert len(tampered) == 43 * 63
    for candidate in tampered:
        assert codec.verify(f"{candidate}.{signature}", TokenKind.ACCESS_TOKEN) is None, candidate


def test_changing_signature_bytes_fails(codec):
    token = codec.mint(TokenKind.ACCESS_TOKEN)
    body, signature = token.value.split(".")
    raw = base64.urlsafe_b64decode(signature + "=")
    for byte_index in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[byte_index] ^= 1 << bit
            forged = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
            assert codec.verify(f"{body}.{forged}", TokenKind.ACCESS_TOKEN) is None


def test_no_signature_edit_yields_the_minted_digest(codec):
    # Whatever a one-character edit of the signature does, it can never be accepted as the
    # original token (whose digest is the database key).
    token = codec.mint(TokenKind.ACCESS_TOKEN)
    body, signature = token.value.split(".")
    for candidate in _substitutions(signature, 0):
        assert codec.verify(f"{body}.{candidate}", TokenKind.ACCESS_TOKEN) != (
            token.signature_digest
        )


def test_every_one_character_signature_edit_is_rejected(codec):
    # Non-canonical spellings of the same bytes ('+' for '-', spare low bits in the last
    # character) are forgeries too: only the exact minted string verifies.
    token = codec.mint(TokenKind.ACCESS_TOKEN)
    body, signature = token.value.split(".")
    for candidate in _substitutions(signature, 0):
        assert codec.verify(f"{body}.{candidate}", TokenKind.ACCESS_TOKEN) is None, candidate
    for char in "+/=":
        candidate = signature[:5] + char + signature[6:]
        assert codec.verify(f"{body}.{candidate}", TokenKind.ACCESS_TOKEN) is None


def test_signature_from_another_token_fails(codec):
    first = codec.mint(TokenKind.ACCESS_TOKEN)
    second = codec.mint(TokenKind.ACCESS_TOKEN)
    body = first.value.split(".")[0]
    signature = second.value.split(".")[1]
    assert codec.verify(f"{body}.{signature}", TokenKind.ACCESS_TOKEN) is None


@pytest.mark.parametrize(
    ("minted", "presented_as"),
    [
        (TokenKind.ACCESS_TOKEN, TokenKind.REFRESH_TOKEN),
        (TokenKind.REFRESH_TOKEN, TokenKind.ACCESS_TOKEN),
        (TokenKind.AUTHORIZATION_CODE, TokenKind.ACCESS_TOKEN),
        (TokenKind.ACCESS_TOKEN, TokenKind.AUTHORIZATION_CODE),
    ],
)
def test_token_of_one_kind_is_refused_as_another(codec, minted, presented_as):
    token = codec.mint(minted)
    # Presented as is: the prefix does not match.
    assert codec.verify(token.value, presented_as) is None
    # With its prefix swapped: the prefix is signed, so the signature no longer matches.
    swapped = presented_as.prefix + token.value[len(minted.prefix) :]
    assert codec.verify(swapped, presented_as) is None
    assert codec.verify(swapped, minted) is None


def test_rotation_old_key_still_verifies():
    token = OpaqueTokenCodec([KEY_A]).mint(TokenKind.REFRESH_TOKEN)
    rotated = OpaqueTokenCodec([KEY_B, KEY_A])
    assert rotated.verify(token.value, TokenKind.REFRESH_TOKEN) == token.signature_digest


def test_rotation_removed_key_no_longer_verifies():
    token = OpaqueTokenCodec([KEY_A]).mint(TokenKind.REFRESH_TOKEN)
    assert OpaqueTokenCodec([KEY_B]).verify(token.value, TokenKind.REFRESH_TOKEN) is None


def test_rotation_new_tokens_use_first_key():
    token = OpaqueTokenCodec([KEY_B, KEY_A]).mint(TokenKind.ACCESS_TOKEN)
    assert OpaqueTokenCodec([KEY_B]).verify(token.value, TokenKind.ACCESS_TOKEN) is not None
    assert OpaqueTokenCodec([KEY_A]).verify(token.value, TokenKind.ACCESS_TOKEN) is None


def test_codec_requires_a_key():
    with pytest.raises(ValueError):
        OpaqueTokenCodec([])


def _garbage(valid: str) -> list:
    body, signature = valid.split(".")
    random_part = body[len("ory_at_") :]
    return [
        "",
        None,
        b"",
        valid.encode(),  # bytes, not str
        42,
        ["ory_at_"],
        "ory_at_",
        "ory_at_.",
        "ory_at_" + "A" * (MAX_TOKEN_LENGTH * 4),
        valid + "A" * MAX_TOKEN_LENGTH,
        body,  # missing dot and signature
        body + signature,  # missing dot
        body + ".",
        "." + signature,
        f"{body}.{signature}.{signature}",  # extra dot
        f"{body}..{signature}",
        f"ory_at_{random_part}.{random_part}.{signature}",
        f"{body}.{signature[:-1]}",  # wrong lengths
        f"{body}.{signature}A",
        f"{body}A.{signature}",
        f"{body[:-1]}.{signature}",
        f"{body}.{signature}=",
        f"{body}=.{signature}",
        f"{body}.{'é' * 43}",  # non-ASCII
        f"ory_at_{'é' * 43}.{signature}",
        "ory_at_" + "\U0001f600" * 43 + "." + signature,
        body + "." + "\ud800" * 43,  # lone surrogates
        f"{body}.{'!' * 43}",
        f"{body}.{' ' * 43}",
        body + "." + "\x00" * 43,
        f" {valid}",
        f"{valid}\n",
        valid.upper(),
        "Bearer " + valid,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    ]


def test_garbage_is_rejected_without_raising(codec):
    valid = codec.mint(TokenKind.ACCESS_TOKEN).value
    for garbage in _garbage(valid):
        for kind in TokenKind:
            assert codec.verify(garbage, kind) is None, repr(garbage)[:80]
