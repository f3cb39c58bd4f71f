"""What the views share: settings, the HTTP session, discovery, the OAuth client and the
per-browser store. Built once by ``create_app`` and kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from flask import current_app

from demo_client.channel_logout import BackChannelLogout, build_backchannel_logout
from demo_client.config import Config
from demo_client.discovery import Discovery
from demo_client.dpop import DpopKey, generate_dpop_key
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
    dpop_key: DpopKey  # the client's DPoP key, made at start (only its public half shown)
    backchannel_logout: BackChannelLogout  # logout tokens: their checks and their jti
    replays: ReplayCache = field(default_factory=ReplayCache)  # DPoP proofs seen by /api


def build_services(config: Config, http: requests.Session) -> Services:
    # Made whatever the setting: the login form may turn DPoP on for one login.
    dpop_key = generate_dpop_key()
    discovery = Discovery(config, http)
    oauth = OAuthClient(config, http, dpop_key)
    store = SessionStore()
    return Services(
        config=config,
        http=http,
        discovery=discovery,
        oauth=oauth,
        store=store,
        dpop_key=dpop_key,
        backchannel_logout=build_backchannel_logout(config, store, discovery, oauth),
    )


def services() -> Services:
    return current_app.extensions["demo_client"]
