"""An in-memory authorization server for the demo client's tests.

It is a small Flask app reached through a requests transport adapter (no sockets): the
demo client's ``http`` session is given the adapter, so every back-channel call lands here
and is recorded. Only the back-channel and admin origins are reachable, as from a server in
Docker: a request to the browser-facing issuer origin fails like a refused connection.
That is how the tests see that the token, userinfo, JWKS and revocation endpoints were
rewritten to the back channel. The browser's side (``authorize``) plays the authorization
endpoint plus the login and consent app in one call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from flask import Flask, jsonify, request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

ISSUER = "http://issuer.example:9000/"
BACKCHANNEL = "http://authserver.internal:4444/"
ADMIN = "http://admin.internal:4445"
CLIENT_ID = "demo-client"
CLIENT_SECRET = "the-client-secret-must-never-show-0123"
REDIRECT_URI = "http://127.0.0.1:4446/callback"
POST_LOGOUT = "http://127.0.0.1:4446/logged-out"
SUBJECT = "foo@bar.com"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
USER_CODE = "BCDFGHJK"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
DOWNSTREAM = "https://downstream.example/"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass
class Grant:
    nonce: str
    code_challenge: str
    redirect_uri: str
    scope: str
    active: bool = True
    dpop_jkt: str = ""  # the DPoP key the code (then the tokens) is bound to (RFC 9449)
    resource: tuple[str, ...] = ()  # RFC 8707


PAR_PREFIX = "urn:ietf:params:oauth:request_uri:"
DPOP_NONCE = "fake-server-nonce-1"


class ProofError(Exception):
    """A DPoP proof the fake refuses; ``error`` is invalid_dpop_proof or use_dpop_nonce."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


def check_proof(
    proof: str, method: str, url: str, seen: set[str], nonce: str | None = None, token=None
) -> dict:
    """RFC 9449 §4.3, as the fake does it: the signature with the header's jwk, typ, htm,
    htu, a fresh iat, a new jti, the nonce when one is required and ath for a token.
    Returns the claims plus ``_jkt`` (the key's thumbprint). Raises ProofError."""
    try:
        segment = proof.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        key = ECKey.import_key(header["jwk"])
        claims = json.loads(jws.deserialize_compact(proof, key, algorithms=["ES256"]).payload)
    except (JoseError, ValueError, KeyError, TypeError, IndexError):
        raise ProofError("invalid_dpop_proof", "bad signature or header") from None
    if "d" in header["jwk"] or header.get("typ") != "dpop+jwt":
        raise ProofError("invalid_dpop_proof", "bad typ or a private jwk")
    if claims.get("htm") != method or claims.get("htu") != url:
        raise ProofError("invalid_dpop_proof", f"htm/htu {claims.get('htm')} {claims.get('htu')}")
    if not abs(time.time() - claims.get("iat", 0)) < 60:
        raise ProofError("invalid_dpop_proof", "stale iat")
    if not claims.get("jti") or claims["jti"] in seen:
        raise ProofError("invalid_dpop_proof", "jti replayed")
    if nonce is not None and claims.get("nonce") != nonce:
        raise ProofError("use_dpop_nonce", "use the server's nonce")
    if token is not None and claims.get("ath") != s256(token):
        raise ProofError("invalid_dpop_proof", "ath is not the token's hash")
    seen.add(claims["jti"])
    return {**claims, "_jkt": key.thumbprint(), "_header": header}


@dataclass
class FakeAuthorizationServer:
    key: RSAKey
    issuer: str = ISSUER
    metadata_issuer: str | None = None  # to publish a wrong issuer
    id_token_overrides: dict = field(default_factory=dict)
    token_error: tuple[str, str] | None = None
    id_token_key: RSAKey | None = None  # sign ID tokens with a key the JWKS does not have
    # Extra members for each JSON answer (e.g. odd strings the client must survive).
    extra: dict[str, dict] = field(default_factory=dict)
    reachable: set[str] = field(default_factory=lambda: {BACKCHANNEL.rstrip("/"), ADMIN})
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)  # every code and token handed out
    # The device grant (RFC 8628): the answer to the device authorization request (None: a
    # good one), and the token endpoint's answers to the polls, in order: an error code,
    # "tokens", or a raw (status, content type, body).
    device_answer: tuple[int, str, str] | None = None
    device_polls: list = field(default_factory=list)
    device_interval: float = 0.01
    device_codes: dict[str, Grant] = field(default_factory=dict)
    # private_key_jwt (RFC 7523 §2.2): the client's public JWK Set; then only a valid, fresh
    # client assertion authenticates it (its jti single-use), never HTTP Basic.
    client_jwks: dict | None = None
    assertions: list[dict] = field(default_factory=list)  # the claims of each one accepted
    seen_jtis: set[str] = field(default_factory=set)
    # Introspection: extra members for one token (e.g. cnf.jkt of a DPoP-bound token), and a
    # raw (status, content type, body) answer instead of the real one (a failing server).
    token_members: dict[str, dict] = field(default_factory=dict)
    introspection_answer: tuple[int, str, str] | None = None
    # PAR (RFC 9126) and DPoP (RFC 9449): the pushed requests by request_uri, whether the
    # server requires PAR, the nonce every proof must carry (None: none), the proofs
    # accepted (claims, with _endpoint and _jkt) and their jti.
    pushed: dict[str, dict] = field(default_factory=dict)
    par_required: bool = False
    dpop_nonce: str | None = None
    dpop_nonce_handed: str | None = None  # the DPoP-Nonce sent (default: dpop_nonce)
    proofs: list[dict] = field(default_factory=list)
    proof_jtis: set[str] = field(default_factory=set)
    # Token exchange (RFC 8693): whether the client holds the grant type, the audiences it
    # may ask for (its registered ``audience``) and the exchanged tokens handed out.
    exchange_grant: bool = True
    client_audience: tuple[str, ...] = (DOWNSTREAM,)
    exchanged: list[str] = field(default_factory=list)
    exchange_requests: list[dict] = field(default_factory=list)  # form + Authorization

    def __post_init__(self):
        self.app = _build_app(self)

    # -- the browser's side: authorization endpoint + login and consent app ------------

    def authorize(self, location: str, **callback_extra) -> str:
        """Follow the authorization request; return the callback URL the browser gets."""
        assert location.startswith(self.issuer.rstrip("/") + "/oauth2/auth?"), location
        params = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        assert params["client_id"] == CLIENT_ID
        resources = tuple(parse_qs(urlsplit(location).query).get("resource", []))
        assert "request_uri" in params or not self.par_required
        if "request_uri" in params:  # RFC 9126 §4: the pushed parameters, once
            assert set(params) == {"client_id", "request_uri"}, params
            params = self.pushed.pop(params["request_uri"])
            resources = tuple(params.pop("_resources"))
        assert params["code_challenge_method"] == "S256"
        code = "code_" + secrets.token_urlsafe(32)
        self.issued.append(code)
        self.codes[code] = Grant(
            params["nonce"],
            params["code_challenge"],
            params["redirect_uri"],
            params["scope"],
            dpop_jkt=params.get("_jkt") or params.get("dpop_jkt", ""),
            resource=resources,
        )
        answer = {"code": code, "state": params["state"], "iss": self.issuer, **callback_extra}
        return params["redirect_uri"] + "?" + urlencode(answer)

    def token_requests(self) -> list[str]:
        return [url for method, url in self.requests if url.endswith("/oauth2/token")]

    # -- tokens ----------------------------------------------------------------------

    def _tokens(self, grant: Grant) -> dict:
        access = "at_" + secrets.token_urlsafe(40)
        refresh = "rt_" + secrets.token_urlsafe(40)
        self.access_tokens[access] = grant
        self.refresh_tokens[refresh] = grant
        if grant.dpop_jkt:  # introspection shows the binding (RFC 9449 §6.2)
            self.token_members.setdefault(access, {})["cnf"] = {"jkt": grant.dpop_jkt}
        if grant.resource:  # RFC 8707 §2.2: the token's audience
            self.token_members.setdefault(access, {})["aud"] = list(grant.resource)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": SUBJECT,
            "aud": [CLIENT_ID],
            "iat": now,
            "exp": now + 3600,
            "auth_time": now,
            "nonce": grant.nonce,
            "at_hash": at_hash(access),
            "sid": "session-1",
            "jti": secrets.token_hex(8),
            "name": "Foo Bar",
            **self.id_token_overrides,
        }
        key = self.id_token_key or self.key
        payload = json.dumps(claims).encode()  # ASCII: "\ud800" stays an escape
        id_token = jws.serialize_compact({"alg": "RS256", "kid": self.key.kid}, payload, key)
        self.issued += [access, refresh, id_token]
        return {
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id_token,
            "token_type": "DPoP" if grant.dpop_jkt else "bearer",
            "expires_in": 3600,
            "scope": grant.scope,
            **self.extra.get("token", {}),
        }


def _build_app(fake: FakeAuthorizationServer) -> Flask:
    app = Flask("fake_authserver")

    def error(code: str, description: str, status: int = 400):
        response = jsonify(error=code, error_description=description)
        response.status_code = status
        return response

    def client_ok() -> bool:
        if fake.client_jwks is not None:
            return assertion_ok(request.url_root.rstrip("/") + request.path)
        auth = request.authorization
        return bool(auth and auth.username == CLIENT_ID and auth.password == CLIENT_SECRET)

    def assertion_ok(url: str) -> bool:
        form = request.form
        if request.authorization or form.get("client_assertion_type") != ASSERTION_TYPE:
            return False
        try:
            keys = KeySet.import_key_set(fake.client_jwks)
            token = jwt.decode(form.get("client_assertion", ""), keys)
        except (JoseError, ValueError):
            return False
        claims = token.claims
        now = time.time()
        token_endpoint = fake.issuer.rstrip("/") + "/oauth2/token"
        ok = (
            claims.get("iss") == claims.get("sub") == CLIENT_ID
            and claims.get("aud") in (token_endpoint, fake.issuer)
            and now - 5 <= claims.get("exp", 0) <= now + 3600
            and claims.get("jti")
            and claims["jti"] not in fake.seen_jtis
        )
        if ok:
            fake.seen_jtis.add(claims["jti"])
            fake.assertions.append({**claims, "_endpoint": url, "_header": dict(token.header)})
        return bool(ok)

    @app.get("/.well-known/openid-configuration")
    def metadata():
        base = fake.issuer.rstrip("/")
        metadata = {
            "issuer": fake.metadata_issuer or fake.issuer,
            "authorization_endpoint": base + "/oauth2/auth",
            "token_endpoint": base + "/oauth2/token",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/.well-known/jwks.json",
            "revocation_endpoint": base + "/oauth2/revoke",
            "end_session_endpoint": base + "/oauth2/sessions/logout",
            "code_challenge_methods_supported": ["S256"],
            "device_authorization_endpoint": base + "/oauth2/device/auth",
            "pushed_authorization_request_endpoint": base + "/oauth2/par",
            "require_pushed_authorization_requests": fake.par_required,
            "dpop_signing_alg_values_supported": ["ES256"],
        }
        return jsonify({**metadata, **fake.extra.get("metadata", {})})

    @app.get("/.well-known/jwks.json")
    def jwks():
        return jsonify(keys=[fake.key.as_dict(private=False)])

    def proof_key(path: str, token: str | None = None) -> str:
        """The thumbprint of the request's DPoP proof ("" without one); ProofError."""
        proof = request.headers.get("DPoP")
        if proof is None:
            return ""
        url = fake.issuer.rstrip("/") + path  # htu: the endpoint as published
        claims = check_proof(proof, request.method, url, fake.proof_jtis, fake.dpop_nonce, token)
        fake.proofs.append({**claims, "_endpoint": path})
        return claims["_jkt"]

    def proof_error(exc: ProofError, status: int = 400, challenge: bool = False):
        response = error(exc.error, str(exc), status)
        if exc.error == "use_dpop_nonce":
            response.headers["DPoP-Nonce"] = fake.dpop_nonce_handed or fake.dpop_nonce
        if challenge:
            response.headers["WWW-Authenticate"] = f'DPoP error="{exc.error}"'
        return response

    def bind(grant: Grant, jkt: str):
        """RFC 9449 §5, §10: a bound grant needs a proof of its key; a proof binds."""
        if grant.dpop_jkt and jkt != grant.dpop_jkt:
            return error("invalid_dpop_proof", "Not the key this grant is bound to.")
        grant.dpop_jkt = grant.dpop_jkt or jkt
        return None

    @app.post("/oauth2/par")
    def par():
        fake.bodies.append(dict(request.form))
        if not client_ok():
            return error("invalid_client", "Client authentication failed.", 401)
        try:
            jkt = proof_key("/oauth2/par")
        except ProofError as exc:
            return proof_error(exc)
        params = {
            k: v
            for k, v in request.form.items()
            if k not in ("client_assertion", "client_assertion_type")
        }
        if jkt:
            params["_jkt"] = jkt
        params["_resources"] = request.form.getlist("resource")
        request_uri = PAR_PREFIX + secrets.token_urlsafe(16)
        fake.pushed[request_uri] = params
        response = jsonify(request_uri=request_uri, expires_in=60)
        response.status_code = 201
        return response

    @app.post("/oauth2/token")
    def token():
        fake.bodies.append(dict(request.form))
        if not client_ok():
            return error("invalid_client", "Client authentication failed.", 401)
        if fake.token_error:
            return error(*fake.token_error)
        try:
            jkt = proof_key("/oauth2/token")
        except ProofError as exc:
            return proof_error(exc)
        form = request.form
        if form.get("grant_type") == "authorization_code":
            grant = fake.codes.pop(form.get("code", ""), None)
            if grant is None:
                return error("invalid_grant", "The code is unknown or was used.")
            refused = bind(grant, jkt)
            if refused is not None:
                return refused
            if s256(form.get("code_verifier", "")) != grant.code_challenge:
                return error("invalid_grant", "The PKCE code_verifier does not match.")
            if form.get("redirect_uri") != grant.redirect_uri:
                return error("invalid_grant", "The redirect_uri does not match.")
            return jsonify(fake._tokens(grant))
        if form.get("grant_type") == DEVICE_GRANT:
            return device_poll(form.get("device_code", ""))
        if form.get("grant_type") == TOKEN_EXCHANGE_GRANT:
            return token_exchange(form, jkt)
        if form.get("grant_type") == "refresh_token":
            grant = fake.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant is None or not grant.active:
                return error("invalid_grant", "The refresh token is not active.")
            refused = bind(grant, jkt)
            if refused is not None:
                return refused
            tokens = fake._tokens(grant)
            tokens.pop("id_token")
            return jsonify(tokens)
        return error("unsupported_grant_type", "Nope.")

    def token_exchange(form, jkt: str):
        """RFC 8693 §2.1 as the fake does it: the client holds the grant type, the subject
        token is an active access token of this client, the audience is the client's, the
        scope only narrows; the new token is bound to the proof's key (if any)."""
        fake.exchange_requests.append(
            {"form": form.to_dict(flat=False), "authorization": request.authorization}
        )
        if not fake.exchange_grant:
            return error("unauthorized_client", f"The client may not use {TOKEN_EXCHANGE_GRANT}.")
        if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
            return error("invalid_request", "Unsupported subject_token_type.")
        if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            return error("invalid_request", "Unsupported requested_token_type.")
        subject = fake.access_tokens.get(form.get("subject_token", ""))
        if subject is None or not subject.active:
            return error("invalid_request", "The subject_token is not active.")
        audience = form.getlist("audience")
        if not audience or any(aud not in fake.client_audience for aud in audience):
            return error("invalid_target", "The audience is not allowed for this client.")
        scope = form.get("scope", subject.scope).split()
        if not set(scope) <= set(subject.scope.split()):
            return error("invalid_scope", "The scope is beyond the subject token's.")
        grant = Grant("", "", "", " ".join(scope), dpop_jkt=jkt, resource=tuple(audience))
        new = "xt_" + secrets.token_urlsafe(40)
        fake.access_tokens[new] = grant
        fake.issued.append(new)
        fake.exchanged.append(new)
        members = {"aud": list(audience), "exp": int(time.time()) + 1800}
        if jkt:
            members["cnf"] = {"jkt": jkt}
        fake.token_members[new] = members
        return jsonify(
            access_token=new,
            issued_token_type=ACCESS_TOKEN_TYPE,
            token_type="DPoP" if jkt else "bearer",
            expires_in=1800,
            scope=grant.scope,
        )

    def raw(answer: tuple[int, str, str]):
        status, kind, text = answer
        return app.response_class(text, status=status, mimetype=kind)

    def device_poll(device_code: str):
        grant = fake.device_codes.get(device_code)
        if grant is None:
            return error("invalid_grant", "The device code is unknown or was used.")
        answer = fake.device_polls.pop(0) if fake.device_polls else "authorization_pending"
        if isinstance(answer, tuple):
            return raw(answer)
        if answer != "tokens":
            return error(answer, f"The fake says {answer}.")
        del fake.device_codes[device_code]
        return jsonify(fake._tokens(grant))

    @app.post("/oauth2/device/auth")
    def device_authorization():
        fake.bodies.append(dict(request.form))
        if not client_ok():
            return error("invalid_client", "Client authentication failed.", 401)
        if fake.device_answer:
            return raw(fake.device_answer)
        device_code = "ory_dc_" + secrets.token_urlsafe(32)
        fake.issued.append(device_code)
        scope = request.form.get("scope", "")
        fake.device_codes[device_code] = Grant("", "", "", scope)
        verify = fake.issuer.rstrip("/") + "/oauth2/device/verify"
        return jsonify(
            device_code=device_code,
            user_code=USER_CODE,
            verification_uri=verify,
            verification_uri_complete=f"{verify}?user_code={USER_CODE}",
            expires_in=600,
            interval=fake.device_interval,
        )

    @app.get("/userinfo")
    def userinfo():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        grant = fake.access_tokens.get(token)
        if grant is None or not grant.active:
            return error("invalid_token", "The access token is not active.", 401)
        if (scheme == "DPoP") != bool(grant.dpop_jkt):  # RFC 9449 §7.2
            return error("invalid_token", "Wrong scheme for this token.", 401)
        try:
            jkt = proof_key("/userinfo", token) if scheme == "DPoP" else ""
        except ProofError as exc:
            return proof_error(exc, 401, challenge=True)
        if jkt != grant.dpop_jkt:
            return error("invalid_dpop_proof", "Not the key the token is bound to.", 401)
        return jsonify({"sub": SUBJECT, "name": "Foo Bar", **fake.extra.get("userinfo", {})})

    @app.post("/oauth2/revoke")
    def revoke():
        fake.bodies.append(dict(request.form))
        if not client_ok():
            return error("invalid_client", "Client authentication failed.", 401)
        token = request.form.get("token", "")
        grant = fake.refresh_tokens.get(token) or fake.access_tokens.get(token)
        if grant:
            grant.active = False
        return "", 200

    @app.post("/admin/oauth2/introspect")
    def introspect():
        if fake.introspection_answer:
            return raw(fake.introspection_answer)
        token = request.form.get("token", "")
        grant = fake.access_tokens.get(token) or fake.refresh_tokens.get(token)
        if grant is None or not grant.active:
            return jsonify(active=False)
        kind = "access_token" if token in fake.access_tokens else "refresh_token"
        answer = {
            "active": True,
            "sub": SUBJECT,
            "client_id": CLIENT_ID,
            "scope": grant.scope,
            "token_use": kind,
        }
        extra = {**fake.extra.get("introspection", {}), **fake.token_members.get(token, {})}
        return jsonify({**answer, **extra})

    return app


class FakeTransport(BaseAdapter):
    """A requests adapter that hands requests to the fake server's WSGI app."""

    def __init__(self, fake: FakeAuthorizationServer):
        super().__init__()
        self.fake = fake

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.fake.reachable:
            raise requests.ConnectionError(f"[fake] connection refused: {origin}")
        self.fake.requests.append((request.method, request.url.split("?")[0]))
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        with self.fake.app.test_client() as client:
            answer = client.open(
                parts.path + (f"?{parts.query}" if parts.query else ""),
                base_url=origin,
                method=request.method,
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                data=body,
            )
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.partition(" ")[2]
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.get_data()
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def http_session(fake: FakeAuthorizationServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = FakeTransport(fake)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
