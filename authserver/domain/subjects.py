"""Subject identifier types (OIDC Core §8): which ``sub`` a client sees for a user.

A ``public`` client sees the subject the login app chose. A ``pairwise`` client sees
``hex(SHA-256(sector || subject || salt))`` (the hash of Ory Hydra's
``consent/subject_identifier_pairwise.go``): clients of different sectors cannot
correlate a user by ``sub``.

The sector is OIDC Core §8.1's: the host component of the ``sector_identifier_uri``, else
the host of the client's redirect URIs (which must then all share it). Hydra hashes the
whole ``sector_identifier_uri`` instead, so a client on ``app.example`` and one naming
``https://app.example/sector.json`` would be two sectors there; here they are one, as the
specification says (a client moved from Hydra with a sector URI sees new identifiers).

No I/O: fetching the sector document is ``oauth2.sectors``.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from authserver.domain.clients import Client

PUBLIC = "public"
PAIRWISE = "pairwise"


class NoSector(ValueError):
    """A pairwise client whose sector cannot be told (OIDC Core §8.1)."""


class PairwiseUnavailable(ValueError):
    """A pairwise client on a server that no longer offers pairwise identifiers (Hydra
    refuses to issue to it rather than fall back to the real subject)."""


def redirect_hosts(client: Client) -> list[str]:
    """The distinct hosts (RFC 3986's host: no port, lower case) of the redirect URIs."""
    hosts: list[str] = []
    for uri in client.redirect_uris:
        host = urlsplit(uri).hostname or ""
        if host not in hosts:
            hosts.append(host)
    return hosts


def sector_of(client: Client) -> str:
    """The value hashed into the client's pairwise identifiers; raises ``NoSector``."""
    if client.sector_identifier_uri:
        return urlsplit(client.sector_identifier_uri).hostname or ""
    hosts = redirect_hosts(client)
    if len(hosts) == 1 and hosts[0]:
        return hosts[0]
    if "" in hosts:
        # Hydra would hash an empty host: every such client would share one sector.
        raise NoSector(
            "A pairwise client with a redirect URI without a host (a native app's custom "
            "scheme) needs a sector_identifier_uri (OIDC Core section 8.1)."
        )
    if not hosts:
        raise NoSector(
            "A pairwise client without redirect_uris needs a sector_identifier_uri "
            "(OIDC Core section 8.1)."
        )
    raise NoSector(
        "A pairwise client whose redirect_uris are on more than one host needs a "
        "sector_identifier_uri (OIDC Core section 8.1)."
    )


def pairwise_subject(sector: str, subject: str, salt: str) -> str:
    """OIDC Core §8.1's example algorithm, with Hydra's inputs and lower-case hex output."""
    return hashlib.sha256((sector + subject + salt).encode("utf-8")).hexdigest()


def subject_for(client: Client, subject: str, *, subject_types: tuple[str, ...], salt: str) -> str:
    """The ``sub`` that ``client`` sees for the user ``subject``.

    ``subject_types`` and ``salt``: the server's ``OIDC_SUBJECT_IDENTIFIERS_*`` settings.
    Raises ``PairwiseUnavailable`` or ``NoSector`` rather than reveal the real subject
    to a pairwise client."""
    if client.subject_type != PAIRWISE:
        return subject
    if PAIRWISE not in subject_types:
        raise PairwiseUnavailable(
            f"The client {client.client_id!r} uses pairwise subject identifiers, which this "
            "server does not offer (OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES)."
        )
    return pairwise_subject(sector_of(client), subject, salt)


def is_subject_of(
    client: Client | None,
    claimed: str,
    subject: str,
    *,
    subject_types: tuple[str, ...],
    salt: str,
) -> bool:
    """Whether ``claimed`` (an ID token's ``sub``) names the user ``subject``: directly,
    or as ``client``'s pairwise identifier for them (an ``id_token_hint`` at logout)."""
    if claimed == subject:
        return True
    if client is None:
        return False
    try:
        return claimed == subject_for(client, subject, subject_types=subject_types, salt=salt)
    except (NoSector, PairwiseUnavailable):
        return False
