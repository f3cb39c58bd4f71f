// Tests against a running `authserver harness`, in Node 20 with nothing installed:
// the built-in test runner (node:test) and the global fetch.
//
//   AUTHSERVER_PUBLIC_URL=http://127.0.0.1:4444 AUTHSERVER_ADMIN_URL=http://127.0.0.1:4445 \
//     node --test harness.test.mjs
//
// The harness runs with docs/examples/testing/harness.yaml (users alice and bob, the
// public client node-app).
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

const PUBLIC = (process.env.AUTHSERVER_PUBLIC_URL ?? "http://127.0.0.1:4444").replace(/\/$/, "");
const ADMIN = (process.env.AUTHSERVER_ADMIN_URL ?? "http://127.0.0.1:4445").replace(/\/$/, "");
const REDIRECT_URI = "http://127.0.0.1:3000/callback"; // node-app's, never actually served

async function admin(method, path, body) {
  const response = await fetch(ADMIN + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}

async function discovery() {
  const response = await fetch(PUBLIC + "/.well-known/openid-configuration");
  assert.equal(response.status, 200);
  return response.json();
}

const base64url = (buffer) => buffer.toString("base64url");

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
}

// Every test starts from the configuration: no sessions, tokens or queued decisions.
beforeEach(() => admin("POST", "/admin/harness/reset"));

test("discovery", async () => {
  const metadata = await discovery();
  assert.equal(metadata.issuer, PUBLIC + "/");
  assert.ok(metadata.code_challenge_methods_supported.includes("S256"));
});

test("a minted token is active, for its user", async () => {
  const minted = await admin("POST", "/admin/harness/tokens", {
    client_id: "orders-cli",
    subject: "bob",
    scope: "orders:read",
  });
  const response = await fetch(ADMIN + "/admin/oauth2/introspect", {
    method: "POST",
    body: new URLSearchParams({ token: minted.access_token }),
  });
  const introspected = await response.json();
  assert.equal(introspected.active, true);
  assert.equal(introspected.sub, "bob");
  assert.equal(introspected.scope, "orders:read");
});

test("a scripted login, followed without a browser, ends in tokens (PKCE)", async () => {
  await admin("POST", "/admin/harness/decisions", {
    subject: "alice",
    claims: { email: "alice@node.example" },
  });
  const metadata = await discovery();
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash("sha256").update(verifier).digest());
  const state = base64url(randomBytes(16));
  const authorize = new URL(metadata.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: "node-app",
    redirect_uri: REDIRECT_URI,
    scope: "openid email",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });

  // Follow the redirects by hand, as a browser would, carrying the cookies the server sets
  // (one host here, so one jar without domains or paths is enough).
  const cookies = new Map();
  let location = authorize.href;
  for (let hop = 0; !location.startsWith(REDIRECT_URI); hop++) {
    assert.ok(hop < 10, "too many redirects");
    const response = await fetch(location, {
      redirect: "manual",
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; ") },
    });
    assert.equal(response.status, 302, `${location}: ${response.status}`);
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    location = new URL(response.headers.get("location"), location).href;
  }
  const callback = new URL(location).searchParams;
  assert.equal(callback.get("state"), state);
  assert.ok(callback.get("code"), `no code in ${location}`);

  const response = await fetch(metadata.token_endpoint, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: callback.get("code"),
      redirect_uri: REDIRECT_URI,
      client_id: "node-app",
      code_verifier: verifier,
    }),
  });
  const tokens = await response.json();
  assert.equal(response.status, 200, JSON.stringify(tokens));
  const idToken = claimsOf(tokens.id_token);
  assert.equal(idToken.sub, "alice");
  assert.equal(idToken.email, "alice@node.example");
  assert.equal(idToken.iss, metadata.issuer);
});
