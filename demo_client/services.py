"""What the views share: settings, the HTTP session, discovery, the OAuth client and the
per-browser store. Built once by ``create_app`` and kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from flask import current_app

from demo_client.config import Config
from demo_client.discovery import Discovery
from demo_client.oauth import OAuthClient
from demo_client.resource import ReplayCache
from demo_client.store import SessionStore


@dataclass
class Services:
    config: Config
    http: requests.Session
    discovery: Discovery
    oauth: OAuthClient
    store: SessionStore
    replays: ReplayCache = field(default_factory=ReplayCache)  # DPoP proofs seen by /api


def build_services(config: Config, http: requests.Session) -> Services:
    return Services(
        config=config,
        http=http,
        discovery=Discovery(config, http),
        oauth=OAuthClient(config, http),
        store=SessionStore(),
    )


def services() -> Services:
    return current_app.extensions["demo_client"]
