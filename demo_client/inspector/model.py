"""The inspector's data: the lanes of the sequence diagram, a ``Step`` (one arrow) and
its ``Param`` rows, and ``http_step`` that turns a recorded ``Exchange`` into a step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from demo_client.id_token import Check
from demo_client.inspector.assertion import DecodedAssertion, decode_assertion
from demo_client.inspector.glossary import PARAMETERS
from demo_client.inspector.proof import decode_proof
from demo_client.inspector.redaction import safe_url, short, show, show_authorization
from demo_client.transport import Exchange

BROWSER = "Browser"
CLIENT = "Client"
SERVER = "Authorization server"
LOGIN_APP = "Login/consent app"
LANES = (BROWSER, CLIENT, SERVER, LOGIN_APP)


@dataclass
class Param:
    name: str
    value: str
    meaning: str = ""
    ref: str = ""


def param(name: str, value: object, meaning: str | None = None, ref: str | None = None) -> Param:
    doc_meaning, doc_ref = PARAMETERS.get(name, ("", ""))
    return Param(
        name,
        show(name, value),
        doc_meaning if meaning is None else meaning,
        doc_ref if ref is None else ref,
    )


@dataclass
class Step:
    key: str
    title: str
    source: str
    target: str
    purpose: str
    ref: str
    method: str = ""
    url: str = ""
    at: float = field(default_factory=time.time)
    status: str = ""
    duration_ms: float | None = None
    recorded: bool = True
    params: list[Param] = field(default_factory=list)
    response: list[Param] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    assertion: DecodedAssertion | None = None  # a client assertion the request carried
    proof: DecodedAssertion | None = None  # a DPoP proof the request carried
    logout_token: DecodedAssertion | None = None  # a logout token the server POSTed
    ok: bool = True

    @property
    def arrow_class(self) -> str:
        """CSS classes that place the arrow between the two lanes of the diagram."""
        a, b = LANES.index(self.source) + 1, LANES.index(self.target) + 1
        if a == b:
            return f"self lane-{a}"
        low, high = sorted((a, b))
        return f"span-{low}-{high} {'ltr' if a < b else 'rtl'}"

    @property
    def label(self) -> str:
        if not self.method:
            return self.title
        if self.url.startswith("<"):  # a described step: "<login app>?login_challenge=…"
            name, _, rest = self.url[1:].partition(">")
            return f"{self.method} {rest.split('?')[0] or f'<{name}>'}"
        return f"{self.method} {urlsplit(self.url).path or self.url}"

    @property
    def clock(self) -> str:
        return (
            time.strftime("%H:%M:%S", time.localtime(self.at))
            + f".{int(self.at * 1000) % 1000:03d}"
        )


def _status(exchange: Exchange) -> str:
    return (
        str(exchange.status) if exchange.status is not None else f"no response ({exchange.error})"
    )


def _request_params(exchange: Exchange) -> list[Param]:
    params = [param(name, value) for name, value in exchange.params]
    if exchange.authorization:
        params.append(param("Authorization", show_authorization(exchange.authorization)))
    return params + dpop_header(exchange)


def dpop_header(exchange: Exchange) -> list[Param]:
    """The DPoP header as a row, whole (public-key signed, single-use), if one was sent."""
    return [param("DPoP", exchange.dpop_proof)] if exchange.dpop_proof else []


def response_params(exchange: Exchange, names: tuple[str, ...] | None = None) -> list[Param]:
    body = exchange.body
    if not isinstance(body, dict):
        return [Param("body", short(body) if body else "(empty)")] if exchange.status else []
    items = body.items() if names is None else ((n, body[n]) for n in names if n in body)
    return [Param(name, show(name, value)) for name, value in items]


def http_step(
    key: str,
    title: str,
    exchange: Exchange,
    purpose: str,
    ref: str,
    source: str = CLIENT,
    target: str = SERVER,
    **extra,
) -> Step:
    ok = exchange.status is not None and exchange.status < 400
    return Step(
        key=key,
        title=title,
        source=source,
        target=target,
        purpose=purpose,
        ref=ref,
        method=exchange.method,
        url=safe_url(exchange.url),
        at=exchange.started_at,
        status=_status(exchange),
        duration_ms=exchange.duration_ms,
        params=extra.pop("params", None) or _request_params(exchange),
        response=extra.pop("response", None) or response_params(exchange),
        ok=extra.pop("ok", ok),
        assertion=decode_assertion(exchange),
        proof=decode_proof(exchange),
        **extra,
    )
