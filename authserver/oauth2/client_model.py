"""Authlib's view of our clients (``ClientMixin``), a thin adapter over ``domain.clients``."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import ClientMixin

from authserver.domain.client_secrets import ClientSecretHasher
from authserver.domain.secrets import DecryptionError, SystemSecrets
from authserver.domain.stores import StoredClient


class AuthlibClient(ClientMixin):
    def __init__(self, stored: StoredClient, hasher: ClientSecretHasher, secrets: SystemSecrets):
        self.stored = stored
        self.client = stored.client
        self._hasher = hasher
        self._secrets = secrets

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 §3.1.2.3: only a client with exactly one redirect URI may omit it.
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = self.client.scopes
        return " ".join(item for item in scope.split() if item in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison (RFC 6749 §3.1.2.3, OAuth 2.0 Security BCP §4.1.3).
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        # The current secret, then those a rotation replaced (Hydra v26): each is its own
        # argon2 hash, so a wrong secret costs one hash per stored secret.
        hashes = (self.stored.secret_hash, *(old.hash for old in self.stored.rotated_secrets))
        return any(self._hasher.verify(stored, client_secret) for stored in hashes if stored)

    def hmac_secrets(self) -> list[str]:
        """client_secret_jwt: the secrets themselves (current first), decrypted."""
        encrypted = (
            self.stored.secret_encrypted,
            *(old.encrypted for old in self.stored.rotated_secrets),
        )
        secrets = []
        for value in encrypted:
            if value:
                try:
                    secrets.append(self._secrets.decrypt(value).decode("utf-8"))
                except (DecryptionError, UnicodeError):
                    continue  # encrypted under a retired system secret: unusable
        return secrets

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A client authenticates the one way it registered, on every endpoint (as Hydra).
        return method == self.client.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.client.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client.grant_types
