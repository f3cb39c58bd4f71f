"""The configured clients, created at start and restored by every reset.

Their secrets are hashed once, at start: a reset between every two tests must not pay
argon2 again for each configured client."""

from __future__ import annotations

from authserver.domain.clients import ValidatedClient, validate_client_document
from authserver.storage.repositories import ClientRepository
from authserver.storage.wipe import delete_clients_except, delete_grants


class ConfiguredClients:
    def __init__(self, documents, services):
        self._clients: list[tuple[ValidatedClient, str | None, str | None]] = []
        for document in documents:
            validated = validate_client_document(
                dict(document),
                subject_types=services.settings.subject_types_supported,
                private_hosts=True,  # apps under test live on local or compose hosts
            )
            secret_hash = encrypted = None
            if validated.secret:
                secret_hash, encrypted = services.store_client_secret(
                    validated.client, validated.secret
                )
            self._clients.append((validated, secret_hash, encrypted))

    @property
    def ids(self) -> list[str]:
        return [validated.client.client_id for validated, _, _ in self._clients]

    def install(self, session) -> None:
        """Create each configured client, or put back its configured metadata and secret."""
        repository = ClientRepository(session)
        for validated, secret_hash, encrypted in self._clients:
            if repository.get(validated.client.client_id) is None:
                repository.add(validated.client, secret_hash, secret_encrypted=encrypted)
            else:
                repository.replace(validated.client, secret_hash, encrypted)


def reset_database(session, clients: ConfiguredClients) -> list[str]:
    """Drop every grant, token, flow and session and every client made at run time; put the
    configured clients back as configured. Returns the client ids changed or deleted."""
    delete_grants(session)
    deleted = delete_clients_except(session, clients.ids)
    clients.install(session)
    return deleted + clients.ids
