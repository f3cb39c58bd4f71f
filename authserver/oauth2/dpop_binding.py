"""DPoP where tokens are issued (RFC 9449 §5, §10): the key a request's tokens are bound to.

``oauth2.dpop`` checks one proof; this module decides when a proof is needed and what a
refusal looks like at the token and PAR endpoints:

* a request with a ``DPoP`` header gets its tokens bound to the proof's key, whatever the
  grant (the answer's ``token_type`` is then ``DPoP``);
* a proof is required when the client asks for bound tokens
  (``dpop_bound_access_tokens``), when the code was bound at the authorization request
  (``dpop_jkt``, §10) and when a public client's refresh token is bound (§5); the last two
  require the very same key;
* with ``OAUTH2_DPOP_NONCE_REQUIRED`` every proof must carry a fresh server nonce (§8).

Refusals are ``invalid_dpop_proof`` (400) or ``use_dpop_nonce`` with a fresh nonce in the
``DPoP-Nonce`` header. The proof's ``jti`` is recorded in the single-use table that client
assertions use, so a replayed proof fails on every process.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import OAuth2Error

from authserver.oauth2.dpop import INVALID_PROOF, DpopError, NonceSource, verify_proof
from authserver.storage.trust import JtiRepository


class DpopProofError(OAuth2Error):
    """RFC 9449 §5 and §8 errors, with the next nonce when one is due."""

    status_code = 400

    def __init__(self, error: str, description: str, nonce: str | None = None):
        super().__init__(description)
        self.error = error
        self.nonce = nonce

    def get_headers(self):
        headers = super().get_headers()
        if self.nonce:
            headers.append(("DPoP-Nonce", self.nonce))
        return headers


def header_values(headers) -> list[str]:
    """Every value of the DPoP header (servers join repeated headers with commas; a proof
    has none, so a comma means several)."""
    value = headers.get("DPoP") if headers is not None else None
    if value is None:
        return []
    return [part.strip() for part in value.split(",")]


class DpopBinding:
    def __init__(self, settings, clock, nonce_key: bytes):
        self._base = settings.public_url.rstrip("/")
        self._clock = clock
        self._nonces = (
            NonceSource(nonce_key, clock=clock.now) if settings.dpop_nonce_required else None
        )

    def check_presentation(
        self, headers, session, method: str, path: str, access_token: str, bound_to: str
    ) -> None:
        """RFC 9449 §7: a bound token presented to ``path`` with a proof of its key, made
        for this request and this token (``ath``). Raises ``DpopError``."""
        verify_proof(
            header_values(headers),
            method=method,
            url=self._base + path,
            now=self._clock.now(),
            access_token=access_token,
            expected_jkt=bound_to,
            nonces=self._nonces,
            use_once=JtiRepository(session).use_once,
        )

    def key_for(self, request, path: str, client, bound_to: str | None = None) -> str | None:
        """The thumbprint the tokens of this POST to ``path`` are bound to, or None for
        Bearer tokens. ``bound_to``: the key the grant is already bound to."""
        values = header_values(request.headers)
        if not values:
            if bound_to:
                raise DpopProofError(
                    INVALID_PROOF,
                    "This grant is bound to a DPoP key: send a DPoP proof made with that key.",
                )
            if client.dpop_bound_access_tokens:
                raise DpopProofError(
                    INVALID_PROOF,
                    "This client must use DPoP-bound tokens: send a DPoP proof (RFC 9449).",
                )
            return None
        try:
            proof = verify_proof(
                values,
                method="POST",
                url=self._base + path,
                now=self._clock.now(),
                expected_jkt=bound_to,
                nonces=self._nonces,
                use_once=JtiRepository(request.db).use_once,
            )
        except DpopError as exc:
            raise DpopProofError(exc.error, exc.description, exc.nonce) from None
        return proof.jkt
