"""The sector identifier check of a client's registration (OIDC Core §8.1).

A ``sector_identifier_uri`` names a JSON array of redirect URIs: the clients that list it
share one pairwise sector, and each may only register redirect URIs the document lists
(so nobody joins a sector they do not control). As Hydra (``client/validator.go``), the
document is fetched on every create and update of a client that names one, whatever its
subject type. A pairwise client without one that acts for users must have its redirect
URIs on one host (a device-flow client without redirect URIs needs the document).
"""

from __future__ import annotations

from authserver.domain.clients import DEVICE_CODE_GRANT, Client, InvalidClientMetadata
from authserver.domain.subjects import PAIRWISE, NoSector, sector_of
from authserver.outbound import FetchError, FetchPolicy, fetch_json


def check_sector_identifier(client: Client, policy: FetchPolicy) -> None:
    """Raise ``InvalidClientMetadata`` unless the client's sector is well defined and its
    sector document (if any) lists every one of its redirect URIs."""
    if client.sector_identifier_uri:
        _check_document(client, _fetch(client.sector_identifier_uri, policy))
    elif client.subject_type == PAIRWISE and _acts_for_users(client):
        try:
            sector_of(client)
        except NoSector as exc:
            raise InvalidClientMetadata(str(exc)) from None


def _acts_for_users(client: Client) -> bool:
    """Only these grants issue tokens about a user: a client_credentials-only client has
    no sector to tell, and needs none (a server offering only pairwise has such clients)."""
    return bool({"authorization_code", DEVICE_CODE_GRANT} & set(client.grant_types))


def _fetch(url: str, policy: FetchPolicy):
    try:
        return fetch_json(url, policy)
    except FetchError as exc:
        raise InvalidClientMetadata(
            f"Field sector_identifier_uri: the document could not be fetched: {exc}."
        ) from None


def _check_document(client: Client, document) -> None:
    if (
        not isinstance(document, list)
        or not document
        or not all(isinstance(item, str) for item in document)
    ):
        raise InvalidClientMetadata(
            "Field sector_identifier_uri must name a non-empty JSON array of redirect URIs "
            "(strings)."
        )
    listed = set(document)
    for uri in client.redirect_uris:
        if uri not in listed:
            raise InvalidClientMetadata(
                f"Field redirect_uris: {uri!r} is not listed in the document at "
                "sector_identifier_uri (OIDC Core section 8.1)."
            )
