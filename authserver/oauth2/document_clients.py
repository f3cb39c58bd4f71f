"""Clients that identify themselves by a URL (client ID metadata documents), found where
the OAuth2 endpoints find clients.

With ``OAUTH2_CLIENT_ID_METADATA_DOCUMENTS_ENABLED``, a ``client_id`` that is an https URL
(loopback http under ``--dev``) names its own metadata, fetched by
``client_documents.ClientDocuments`` (SSRF-checked, cached as its HTTP headers say). The
client is then kept as a stored client under that id: flows, codes and tokens refer to
their client by foreign key, and introspection, userinfo or logout read it like any other.
The stored copy follows the document: whenever the fetched document differs, it is
replaced. Such a client is public (PKCE, as every public client) or authenticates with
``private_key_jwt`` and the document's keys; it is marked ``registered`` and carries
``metadata.client_id_metadata_document`` so that administrators can tell it apart.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from authserver.domain.clients import Client
from authserver.domain.stores import ClientAlreadyExists
from authserver.oauth2.client_documents import (
    ClientDocument,
    ClientDocuments,
    is_document_client_id,
)
from authserver.storage.repositories import ClientRepository, StoredClient

MARKER = "client_id_metadata_document"


class ClientFinder:
    """``find``: the client of an OAuth2 request, stored or named by its document."""

    def __init__(self, clients, documents: ClientDocuments | None, default_scope: str):
        self._clients = clients
        self._documents = documents  # None: documents are off
        self._default_scope = default_scope

    @property
    def documents_enabled(self) -> bool:
        return self._documents is not None

    def find(self, session: Session, client_id: str) -> StoredClient | None:
        """Raises ``ClientDocumentError`` for a URL whose document cannot be used."""
        if self._documents is None or not is_document_client_id(client_id):
            return self._clients.find(session, client_id)
        client = document_client(self._documents.load(client_id), self._default_scope)
        stored = self._clients.find(session, client_id)
        if stored is not None and not stored.registered:
            # An administrator's client of that id wins; a document never overwrites it.
            return stored
        if stored is None or stored.client.to_document() != client.to_document():
            _save(ClientRepository(session), client, exists=stored is not None)
            self._clients.forget(client_id)
            stored = ClientRepository(session).get(client_id)
        return stored


def document_client(document: ClientDocument, default_scope: str) -> Client:
    metadata = dict(document.metadata)
    metadata.pop("client_id", None)
    metadata["scope"] = metadata.get("scope") or default_scope
    metadata["metadata"] = {MARKER: True}
    return Client(client_id=document.url, **metadata)


def _save(clients: ClientRepository, client: Client, exists: bool) -> None:
    if exists:
        clients.replace(client, secret_hash=None)
        return
    try:
        clients.add(client, None, registered=True)
    except ClientAlreadyExists:  # a concurrent first request stored it a moment ago
        clients.replace(client, secret_hash=None)
