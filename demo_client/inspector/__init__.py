"""The flow inspector: every HTTP step of the flow as a ``Step`` for the sequence diagram.

Steps hold display values only: every secret (codes, tokens, the PKCE verifier, challenges
and verifiers of the login flow, client assertions, the Authorization header, a token
exchange's subject and actor tokens) is cut to its
first eight characters and "…" here, so no template can show a whole one. No I/O, no Flask.

``glossary``: what parameters and claims mean; ``redaction``: the display values;
``model``: ``Step``, ``Param`` and the lanes; ``steps``: the steps the client records;
``trips``: the browser's trips it cannot see, described; ``device``: the device flow's;
``assertion``: a client assertion (``private_key_jwt``) decoded, its signature shortened;
``proof``: a DPoP proof decoded; ``dpop``: the DPoP nonce retry and the token's binding;
``channel_logout``: a session ended by the server (back- or front-channel logout).
"""

from __future__ import annotations

from demo_client.inspector.assertion import DecodedAssertion, decode_assertion
from demo_client.inspector.channel_logout import (
    backchannel_logout_step,
    decode_logout_token,
    frontchannel_logout_step,
)
from demo_client.inspector.device import (
    device_authorization_step,
    device_poll_step,
    device_user_step,
    poll_answer,
)
from demo_client.inspector.dpop import binding_notes, dpop_nonce_step
from demo_client.inspector.glossary import (
    ASSERTION_CLAIMS,
    CLAIMS,
    DPOP_CLAIMS,
    LOGOUT_TOKEN_CLAIMS,
    PARAMETERS,
    TIME_CLAIMS,
)
from demo_client.inspector.model import (
    BROWSER,
    CLIENT,
    LANES,
    LOGIN_APP,
    SERVER,
    Param,
    Step,
    http_step,
    param,
)
from demo_client.inspector.proof import decode_proof
from demo_client.inspector.redaction import (
    SECRET_NAMES,
    SHORT_LENGTH,
    fingerprint,
    safe_url,
    short,
    show,
    show_authorization,
)
from demo_client.inspector.steps import (
    api_call_step,
    authorization_request_step,
    callback_step,
    discovery_step,
    id_token_step,
    introspection_step,
    jwks_step,
    logged_out_step,
    logout_request_step,
    par_step,
    refresh_step,
    revoke_step,
    token_exchange_step,
    token_step,
    userinfo_step,
)
from demo_client.inspector.trips import browser_trip_steps, logout_trip_steps

__all__ = [
    "ASSERTION_CLAIMS",
    "BROWSER",
    "CLAIMS",
    "CLIENT",
    "DPOP_CLAIMS",
    "DecodedAssertion",
    "LANES",
    "LOGIN_APP",
    "LOGOUT_TOKEN_CLAIMS",
    "PARAMETERS",
    "SECRET_NAMES",
    "SERVER",
    "SHORT_LENGTH",
    "TIME_CLAIMS",
    "Param",
    "api_call_step",
    "Step",
    "authorization_request_step",
    "backchannel_logout_step",
    "browser_trip_steps",
    "callback_step",
    "binding_notes",
    "decode_assertion",
    "decode_logout_token",
    "decode_proof",
    "dpop_nonce_step",
    "device_authorization_step",
    "device_poll_step",
    "device_user_step",
    "discovery_step",
    "fingerprint",
    "frontchannel_logout_step",
    "http_step",
    "id_token_step",
    "introspection_step",
    "jwks_step",
    "logged_out_step",
    "logout_request_step",
    "logout_trip_steps",
    "par_step",
    "param",
    "poll_answer",
    "refresh_step",
    "revoke_step",
    "safe_url",
    "short",
    "show",
    "show_authorization",
    "token_exchange_step",
    "token_step",
    "userinfo_step",
]
