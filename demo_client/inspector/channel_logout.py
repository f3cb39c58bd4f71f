"""The steps recorded when the authorization server ends a session here: a logout token
POSTed server to server (OIDC Back-Channel Logout 1.0), or this app's page loaded in an
invisible iframe of the server's logout page (OIDC Front-Channel Logout 1.0). No I/O."""

from __future__ import annotations

from demo_client.id_token import Check, when
from demo_client.inspector.assertion import AssertionRow, DecodedAssertion, ordered
from demo_client.inspector.glossary import LOGOUT_TOKEN_CLAIMS, TIME_CLAIMS
from demo_client.inspector.model import BROWSER, CLIENT, SERVER, Step, param
from demo_client.inspector.redaction import safe_url, short, show

HEADER_ORDER = ("alg", "kid", "typ")
CLAIM_ORDER = ("iss", "aud", "iat", "exp", "jti", "events", "sub", "sid")
BACKCHANNEL_REF = "OIDC Back-Channel Logout 1.0 §2.5, §2.6, §2.8"
FRONTCHANNEL_REF = "OIDC Front-Channel Logout 1.0 §2, §3"


def decode_logout_token(header: dict, claims: dict, signature: str) -> DecodedAssertion:
    """The token's header and claims, each with what it says; the signature shortened."""
    rows = [_row("header", name, header[name]) for name in ordered(header, HEADER_ORDER)]
    rows += [_row("claims", name, claims[name]) for name in ordered(claims, CLAIM_ORDER)]
    rows.append(
        AssertionRow("signature", "signature", short(signature), LOGOUT_TOKEN_CLAIMS["signature"])
    )
    return DecodedAssertion(rows=rows)


def _row(part: str, name: str, value: object) -> AssertionRow:
    meaning = LOGOUT_TOKEN_CLAIMS.get(name, "")
    if part == "claims" and name in TIME_CLAIMS:
        try:
            return AssertionRow(part, name, when(value), meaning)
        except (OverflowError, ValueError, OSError):
            pass
    return AssertionRow(part, name, show(name, value), meaning)


def backchannel_logout_step(
    url: str,
    compact: str,
    decoded: DecodedAssertion,
    checks: list[Check],
    started: float,
) -> Step:
    return Step(
        key="backchannel-logout",
        title="Back-channel logout",
        source=SERVER,
        target=CLIENT,
        purpose="The authorization server ended this session over the back channel: it "
        "POSTed a signed logout token to this app, server to server. Your browser was not "
        "involved.",
        ref=BACKCHANNEL_REF,
        method="POST",
        url=safe_url(url),
        at=started,
        status="200",
        params=[param("logout_token", compact)],
        checks=checks,
        logout_token=decoded,
        notes=[
            "The client verified the token as it verifies ID tokens (signature with the "
            "issuer's JWKS, iss, aud), then what makes it a logout token (typ, events, no "
            "nonce), and recorded its jti so that the same token is refused if sent again.",
            "It ended every session here that came from that login (the sid of its ID "
            "token): the tokens are forgotten, as on a local logout, and the next page shows "
            "you logged out. The answer was HTTP 200, with an empty body.",
        ],
    )


def frontchannel_logout_step(url: str, iss: str | None, sid: str | None) -> Step:
    params = []
    if iss is not None:
        params.append(
            param(
                "iss",
                iss,
                "The issuer whose session ended: compared with the issuer this client trusts.",
                "OIDC Front-Channel Logout §2",
            )
        )
    if sid is not None:
        params.append(
            param(
                "sid",
                sid,
                "The login session that ended, the sid of this client's ID tokens: every "
                "session here with that sid ends.",
                "OIDC Front-Channel Logout §2",
            )
        )
    whose = (
        "the sessions here that came from that login session (sid)"
        if sid is not None
        else "this browser's own session (no sid was sent: the cookie says whose)"
    )
    return Step(
        key="frontchannel-logout",
        title="Front-channel logout",
        source=BROWSER,
        target=CLIENT,
        purpose="The authorization server's logout page loaded this app's front-channel "
        "logout URI in an invisible iframe; your browser made the request, with this app's "
        "cookie, and the client ended " + whose + ".",
        ref=FRONTCHANNEL_REF,
        method="GET",
        url=safe_url(url),
        status="200",
        params=params,
        notes=[
            "Unlike back-channel logout, nothing here is signed: the iss and sid in the URL "
            "are all the client gets, and the frame works only while the browser is on the "
            "server's logout page (the answer allows framing by the issuer's origin only)."
        ],
    )
