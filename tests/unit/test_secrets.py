"""Keys derived from SECRETS_SYSTEM: encryption at rest, rotation, per-purpose keys."""

from __future__ import annotations

import pytest

from authserver.domain.secrets import (
    COOKIE_PURPOSE,
    ENCRYPTION_PURPOSE,
    TOKEN_HMAC_PURPOSE,
    DecryptionError,
    SystemSecrets,
    derive_key,
)

A = "secret-a-0123456789abcdef"
B = "secret-b-0123456789abcdef"
C = "secret-c-0123456789abcdef"


@pytest.mark.parametrize("plaintext", [b"", b"hello", b"\x00\xff" * 500, "ключ".encode()])
def test_encrypt_decrypt_roundtrip(plaintext):
    secrets = SystemSecrets([A])
    ciphertext = secrets.encrypt(plaintext)
    assert isinstance(ciphertext, str)
    assert secrets.decrypt(ciphertext) == plaintext


def test_ciphertext_does_not_contain_plaintext():
    plaintext = b"-----BEGIN PRIVATE KEY----- very secret key material"
    ciphertext = SystemSecrets([A]).encrypt(plaintext)
    assert plaintext.decode() not in ciphertext
    assert b"very secret" not in ciphertext.encode()


def test_encryption_is_randomised():
    secrets = SystemSecrets([A])
    assert secrets.encrypt(b"same") != secrets.encrypt(b"same")


def test_another_instance_with_same_secret_decrypts():
    ciphertext = SystemSecrets([A]).encrypt(b"payload")
    assert SystemSecrets([A]).decrypt(ciphertext) == b"payload"


def test_rotated_secrets_decrypt_old_ciphertext():
    ciphertext = SystemSecrets([A]).encrypt(b"payload")
    assert SystemSecrets([B, A]).decrypt(ciphertext) == b"payload"
    assert SystemSecrets([C, B, A]).decrypt(ciphertext) == b"payload"


def test_removed_secret_cannot_decrypt():
    ciphertext = SystemSecrets([A]).encrypt(b"payload")
    with pytest.raises(DecryptionError):
        SystemSecrets([B]).decrypt(ciphertext)


def test_new_encryptions_use_first_secret():
    ciphertext = SystemSecrets([B, A]).encrypt(b"payload")
    with pytest.raises(DecryptionError):
        SystemSecrets([A]).decrypt(ciphertext)
    assert SystemSecrets([B]).decrypt(ciphertext) == b"payload"


@pytest.mark.parametrize("garbage", ["", "not a ciphertext", "gAAAAA", "é" * 10])
def test_garbage_ciphertext_raises_decryption_error(garbage):
    with pytest.raises(DecryptionError):
        SystemSecrets([A]).decrypt(garbage)


def test_tampered_ciphertext_raises_decryption_error():
    secrets = SystemSecrets([A])
    ciphertext = secrets.encrypt(b"payload")
    middle = len(ciphertext) // 2
    replacement = "A" if ciphertext[middle] != "A" else "B"
    tampered = ciphertext[:middle] + replacement + ciphertext[middle + 1 :]
    with pytest.raises(DecryptionError):
        secrets.decrypt(tampered)


def test_requires_a_secret():
    with pytest.raises(ValueError):
        SystemSecrets([])


def test_token_hmac_keys_one_per_secret_in_order():
    keys = SystemSecrets([B, A]).token_hmac_keys
    assert len(keys) == 2
    assert all(isinstance(key, bytes) and len(key) == 32 for key in keys)
    assert keys[0] != keys[1]
    assert keys == (SystemSecrets([B]).token_hmac_keys[0], SystemSecrets([A]).token_hmac_keys[0])


def test_token_hmac_keys_are_deterministic_and_not_the_secret():
    keys = SystemSecrets([A]).token_hmac_keys
    assert keys == SystemSecrets([A]).token_hmac_keys
    assert keys[0] != A.encode()
    assert A.encode() not in keys[0]


def test_derive_key_differs_per_purpose():
    derived = {
        derive_key(A, purpose)
        for purpose in (TOKEN_HMAC_PURPOSE, ENCRYPTION_PURPOSE, COOKIE_PURPOSE)
    }
    assert len(derived) == 3


def test_derive_key_differs_per_secret_and_honours_length():
    assert derive_key(A, TOKEN_HMAC_PURPOSE) != derive_key(B, TOKEN_HMAC_PURPOSE)
    assert derive_key(A, TOKEN_HMAC_PURPOSE) == derive_key(A, TOKEN_HMAC_PURPOSE)
    assert len(derive_key(A, TOKEN_HMAC_PURPOSE, length=64)) == 64


def test_token_hmac_key_is_not_the_encryption_key():
    assert SystemSecrets([A]).token_hmac_keys[0] == derive_key(A, TOKEN_HMAC_PURPOSE)
    assert SystemSecrets([A]).token_hmac_keys[0] != derive_key(A, ENCRYPTION_PURPOSE)
