// The single-page app on /spa: a public OAuth 2.0 client (RFC 6749 §2.1) that runs in the
// browser only. Every call to the authorization server is a cross-origin fetch, which
// the server allows through CORS. The tokens live in this script's variables and nowhere
// else; only a login in progress (PKCE verifier, state, nonce) waits in sessionStorage
// while the browser visits the login page, and is deleted when it comes back.
//
// Each step is written into the page as the script saw it: what it sent, and what the
// browser let it read of the answer. Copying this? Keep the parts marked "the rule".
(function () {
  "use strict";

  const root = document.getElementById("spa");
  if (!root) return;
  const app = {
    issuer: root.dataset.issuer,
    clientId: root.dataset.clientId,
    redirectUri: root.dataset.redirectUri,
    scope: root.dataset.scope,
  };
  const PENDING = "demo-spa-login"; // sessionStorage key of the login in progress

  // What the app knows. Memory only: a reload or a closed tab forgets all of it.
  let metadata = null; // the discovery document
  let tokens = null; // the token endpoint's answer
  let idToken = null; // { claims, checks } of the last ID token
  let loginNonce = null; // the nonce of the login that gave the tokens
  let userinfo = null; // the userinfo answer
  let stepCount = 0;

  const $ = (id) => document.getElementById(id);
  const buttons = {
    login: $("spa-login"),
    userinfo: $("spa-userinfo-call"),
    refresh: $("spa-refresh"),
    forget: $("spa-forget"),
  };
  const SECRET_FIELDS = new Set([
    "access_token", "refresh_token", "id_token", "code", "code_verifier", "token",
  ]);
  const TIME_CLAIMS = new Set(["exp", "iat", "auth_time", "nbf", "rat"]);

  // A failure already explained in its step; the status line says it in short.
  class Stop extends Error {}

  // -- small helpers ---------------------------------------------------------------------

  function base64url(bytes) {
    let text = "";
    bytes.forEach((byte) => { text += String.fromCharCode(byte); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(text) {
    const plain = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(plain + "===".slice((plain.length + 3) % 4));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  }

  function decodeJson(segment) {
    return JSON.parse(new TextDecoder().decode(fromBase64url(segment)));
  }

  // The rule: secrets come from crypto.getRandomValues, never Math.random.
  function randomValue(bytes) {
    return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
  }

  async function sha256(text) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  }

  function short(value) {
    const text = String(value);
    return text.length > 12 ? text.slice(0, 8) + "…" : text;
  }

  function hideSecrets(value) {
    if (Array.isArray(value)) return value.map(hideSecrets);
    if (value && typeof value === "object") {
      const copy = {};
      Object.entries(value).forEach(([name, item]) => {
        copy[name] = SECRET_FIELDS.has(name) && typeof item === "string" ? short(item) : hideSecrets(item);
      });
      return copy;
    }
    return value;
  }

  function sameIssuer(one, other) {
    return String(one).replace(/\/$/, "") === String(other).replace(/\/$/, "");
  }

  function when(seconds) {
    return typeof seconds === "number" ? `${seconds} (${new Date(seconds * 1000).toISOString()})` : String(seconds);
  }

  function printed(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, value));
    if (text !== undefined) node.textContent = text; // text only: nothing the server sends becomes markup
    return node;
  }

  // -- the step log ----------------------------------------------------------------------

  function step(name, title, about) {
    stepCount += 1;
    const item = element("li", { "data-spa-step": name });
    item.append(element("h3", {}, `${stepCount}. ${title}`), element("p", {}, about));
    $("spa-log").append(item);
    return item;
  }

  function show(item, label, text) {
    item.append(element("p", { class: "spa-label" }, label), element("code", { class: "full" }, text));
  }

  function say(item, text, outcome) {
    item.append(element("p", { class: "spa-outcome " + (outcome || "") }, text));
    if (outcome === "fail") item.classList.add("failed");
  }

  function setStatus(text, state) {
    const status = $("spa-status");
    status.textContent = text;
    status.classList.toggle("fail", state === "failed");
    root.dataset.state = state;
  }

  function formText(form) {
    const lines = [];
    form.forEach((value, name) => lines.push(`${name}=${SECRET_FIELDS.has(name) ? short(value) : value}`));
    return lines.join("\n");
  }

  // One cross-origin fetch, written into the step as the script sees it.
  async function call(item, url, init) {
    const method = init.method || "GET";
    const lines = [`${method} ${url}`, `Origin: ${location.origin}    (added by the browser, not by this script)`];
    Object.entries(init.headers || {}).forEach(([name, value]) => {
      lines.push(`${name}: ${name === "Authorization" ? "Bearer " + short(value.slice(7)) : value}`);
    });
    if (init.body) lines.push("", formText(init.body));
    show(item, "Request", lines.join("\n"));
    let response;
    try {
      response = await fetch(url, { ...init, cache: "no-store" });
    } catch (error) {
      say(
        item,
        `No answer for this script: fetch failed with ${error.name}: ${error.message}. ` +
          "The browser does not tell a script why, on purpose. Either the server did not " +
          `allow the origin ${location.origin} (CORS), or this page's Content-Security-Policy ` +
          "(connect-src) did not allow the address, or the server was unreachable. The " +
          "browser's console says which.",
        "fail",
      );
      throw new Stop(`${method} ${url} failed: the browser gave no answer (${error.name}).`);
    }
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { body = null; }
    const answer = [`HTTP ${response.status} ${response.statusText}`.trim()];
    response.headers.forEach((value, name) => answer.push(`${name}: ${value}`));
    answer.push("", body === null ? text.slice(0, 2000) : JSON.stringify(hideSecrets(body), null, 2));
    show(item, `Answer, as this script may read it (response.type "${response.type}")`, answer.join("\n"));
    return { response, body };
  }

  function refusal(body, response) {
    if (body && body.error) {
      return `HTTP ${response.status}, error=${body.error}` +
        (body.error_description ? `: ${body.error_description}` : "");
    }
    return `HTTP ${response.status}`;
  }

  // -- the steps -------------------------------------------------------------------------

  async function discover() {
    const url = app.issuer.replace(/\/?$/, "/") + ".well-known/openid-configuration";
    const item = step(
      "discovery",
      "Discovery: where the server's endpoints are",
      "The script asks the issuer for its OpenID Connect discovery document (OIDC Discovery " +
        "§4). A GET with no header of its own is a \"simple\" request: the browser sends it " +
        "at once, without a preflight, and hands the answer to the script only if the " +
        "server's Access-Control-Allow-Origin names this page's origin. Discovery has no " +
        "client to ask, so the server decides by its setting SERVE_PUBLIC_CORS_ALLOWED_ORIGINS.",
    );
    const { response, body } = await call(item, url, {});
    if (!response.ok || !body || typeof body.token_endpoint !== "string") {
      say(item, `The discovery document is not usable (${refusal(body, response)}).`, "fail");
      throw new Stop("Discovery failed.");
    }
    if (!sameIssuer(body.issuer, app.issuer)) {
      say(item, `The document names the issuer ${body.issuer}, not ${app.issuer}: not trusted.`, "fail");
      throw new Stop("The issuer does not match.");
    }
    metadata = body;
    say(
      item,
      `✓ Readable: the server allowed ${location.origin}. This app will use ` +
        `authorization_endpoint, token_endpoint, jwks_uri, userinfo_endpoint and revocation_endpoint from it.`,
      "pass",
    );
  }

  async function login() {
    // The rule (RFC 7636): a fresh verifier per login, 32 random bytes = 43 characters
    // (§4.1); the challenge is BASE64URL(SHA-256(verifier)) (§4.2, S256).
    const verifier = randomValue(32);
    const challenge = base64url(await sha256(verifier));
    const state = randomValue(16); // ties the answer to this tab (RFC 6749 §10.12)
    const nonce = randomValue(16); // ties the ID token to this login (OIDC Core §3.1.2.1)
    const url = new URL(metadata.authorization_endpoint);
    Object.entries({
      response_type: "code",
      client_id: app.clientId,
      redirect_uri: app.redirectUri,
      scope: app.scope,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: "S256",
    }).forEach(([name, value]) => url.searchParams.set(name, value));
    // The page is about to be replaced: only sessionStorage (this tab, this origin)
    // keeps the verifier until the browser comes back. Never a token.
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, challenge, state, nonce, url: url.href }));
    setStatus("Going to the authorization server…", "busy");
    window.location.assign(url.href);
  }

  function takePending() {
    const raw = sessionStorage.getItem(PENDING);
    sessionStorage.removeItem(PENDING); // one use, whatever happens next
    try { return raw ? JSON.parse(raw) : null; } catch (_) { return null; }
  }

  function showAuthorizationRequest(pending) {
    const item = step(
      "authorization-request",
      "PKCE, and the trip to the login page (before the redirect)",
      "When you pressed Log in, the script made a random code_verifier and sent only its " +
        "SHA-256 hash, the code_challenge (RFC 7636). It kept the verifier, state and nonce " +
        "in sessionStorage, then sent the whole page to the authorization endpoint. That is a " +
        "navigation, not a fetch, so CORS plays no part: the login and consent pages are for " +
        "you, not for the script. The server remembered the challenge with the code it issued.",
    );
    const url = new URL(pending.url);
    const lines = [`GET ${url.origin}${url.pathname}`];
    url.searchParams.forEach((value, name) => lines.push(`  ${name}=${value}`));
    show(item, "Where the browser went", lines.join("\n"));
    show(
      item,
      "Kept in sessionStorage for the round trip (now deleted)",
      [
        `code_verifier: ${short(pending.verifier)}    (the secret: it never left this tab until the token request)`,
        `state: ${pending.state}`,
        `nonce: ${pending.nonce}`,
      ].join("\n"),
    );
  }

  async function finishLogin(params) {
    const pending = takePending();
    // The code leaves the address bar (and the history), so it is not bookmarked or shared.
    window.history.replaceState(null, "", window.location.pathname);
    await discover();
    if (pending) showAuthorizationRequest(pending);
    const item = step(
      "authorization-response",
      "Back here, at the redirect URI, with a code",
      "The authorization server sent the browser back to this page with the result in the " +
        "query string (RFC 6749 §4.1.2). The script read it and removed it from the address bar.",
    );
    const lines = [];
    params.forEach((value, name) => lines.push(`${name}=${name === "code" ? short(value) : value}`));
    show(item, "The query string", lines.join("\n"));
    if (!pending) {
      say(item, "No login was started in this tab (sessionStorage is per tab): nothing to compare state with.", "fail");
      throw new Stop("No login in progress in this tab: press Log in to start one.");
    }
    // The rule: compare state before anything else, errors included.
    if (params.get("state") !== pending.state) {
      say(item, "✗ state differs from the one this tab sent: this answer is not for this login (possible CSRF).", "fail");
      throw new Stop("The state did not match: answer refused.");
    }
    say(item, "✓ state matches the one this tab sent: the answer belongs to the login it started.", "pass");
    if (params.has("iss")) {
      // RFC 9207: which server sent the answer, against mix-up attacks with several servers.
      if (!sameIssuer(params.get("iss"), metadata.issuer)) {
        say(item, `✗ iss is ${params.get("iss")}, not this issuer (RFC 9207): answer refused.`, "fail");
        throw new Stop("The answer came from another issuer.");
      }
      say(item, "✓ iss names this issuer (RFC 9207): the answer comes from the server the login went to.", "pass");
    }
    if (params.has("error")) {
      const description = params.get("error_description");
      say(item, `The server said no: error=${params.get("error")}${description ? ": " + description : ""}.`, "fail");
      throw new Stop(`The login ended with ${params.get("error")}. Press Log in to try again.`);
    }
    await exchangeCode(params.get("code") || "", pending);
  }

  async function exchangeCode(code, pending) {
    const item = step(
      "token",
      "The code for tokens, at the token endpoint",
      "The script POSTs the code with the PKCE code_verifier (RFC 7636 §4.5) and its client_id " +
        "in the form body: a public client has no secret; the verifier, which hashes to the " +
        "challenge sent earlier, proves this is the app that started the login. A form POST is " +
        "a \"simple\" request too (no preflight). The server allows this origin because the " +
        "client that client_id names lists it in allowed_cors_origins.",
    );
    const form = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: app.redirectUri,
      client_id: app.clientId,
      code_verifier: pending.verifier,
    });
    const { response, body } = await call(item, metadata.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form,
    });
    if (!response.ok || !body || typeof body.access_token !== "string") {
      say(item, `The token endpoint refused (${refusal(body, response)}).`, "fail");
      throw new Stop("The code could not be exchanged for tokens.");
    }
    say(item, "✓ Readable: tokens, now in this script's memory (and in no storage).", "pass");
    tokens = body;
    loginNonce = pending.nonce;
    await checkIdToken(false);
    await callUserinfo();
  }

  async function checkIdToken(refreshed) {
    if (typeof tokens.id_token !== "string") {
      idToken = null;
      return;
    }
    const item = step(
      "id-token",
      refreshed ? "The new ID token, checked again" : "The ID token, checked with the server's public keys",
      "An ID token is a JWT: header.claims.signature, each base64url. The script fetches the " +
        "server's public keys (the JWKS; a simple GET that SERVE_PUBLIC_CORS_ALLOWED_ORIGINS " +
        "allows, as discovery) and checks the RS256 signature with crypto.subtle.verify, then " +
        "the claims (OIDC Core §3.1.3.7).",
    );
    const [headerPart, claimsPart, signaturePart] = tokens.id_token.split(".");
    let header, claims;
    try {
      header = decodeJson(headerPart);
      claims = decodeJson(claimsPart);
    } catch (_) {
      say(item, "The ID token is not a JWT.", "fail");
      throw forgetting("The ID token is not a JWT: login refused.");
    }
    const { response, body } = await call(item, metadata.jwks_uri, {});
    const keys = response.ok && body && Array.isArray(body.keys) ? body.keys : [];
    const key = keys.find((candidate) => candidate.kid === header.kid && candidate.kty === "RSA");
    let signed = false;
    if (key && header.alg === "RS256") {
      const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
      const publicKey = await crypto.subtle.importKey("jwk", { kty: "RSA", n: key.n, e: key.e }, algorithm, false, ["verify"]);
      signed = await crypto.subtle.verify(
        algorithm, publicKey, fromBase64url(signaturePart), new TextEncoder().encode(`${headerPart}.${claimsPart}`),
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const checks = [
      ["signature", signed, `RS256, by the JWKS key "${header.kid}"`],
      ["iss", sameIssuer(claims.iss, metadata.issuer), `equals the issuer, ${metadata.issuer}`],
      ["aud", audiences.includes(app.clientId), `contains this client id, ${app.clientId}`],
      ["exp", typeof claims.exp === "number" && claims.exp > now, "is in the future"],
      ["iat", typeof claims.iat === "number" && claims.iat <= now + 60, "is not in the future (60 s leeway)"],
      refreshed
        ? ["nonce", claims.nonce === undefined || claims.nonce === loginNonce, "absent, or the login's nonce"]
        : ["nonce", claims.nonce === loginNonce, "equals the nonce this tab sent"],
    ];
    if (claims.at_hash !== undefined) {
      const digest = await sha256(tokens.access_token);
      const expected = base64url(digest.slice(0, digest.length / 2));
      checks.push(["at_hash", claims.at_hash === expected, "is the left half of SHA-256(access token), base64url"]);
    }
    idToken = { claims, checks };
    show(item, "The checks", checks.map(([name, ok, rule]) => `${ok ? "✓" : "✗"} ${name}: ${rule}`).join("\n"));
    const passed = checks.filter(([, ok]) => ok).length;
    const all = passed === checks.length;
    say(item, `${all ? "✓" : "✗"} ${passed} of ${checks.length} checks passed.`, all ? "pass" : "fail");
    if (!all) throw forgetting("The ID token failed its checks: login refused, tokens forgotten.");
  }

  function forgetting(message) {
    tokens = null;
    userinfo = null;
    return new Stop(message);
  }

  async function callUserinfo() {
    const item = step(
      "userinfo",
      "UserInfo, with the access token",
      "GET userinfo with Authorization: Bearer <access token> (OIDC Core §5.3). The " +
        "Authorization header makes this request not \"simple\": first the browser sent a " +
        "preflight, OPTIONS with Access-Control-Request-Method: GET and " +
        "Access-Control-Request-Headers: authorization, to ask whether it may. Scripts never " +
        "see a preflight (the Network tab does). A preflight carries no token, so on userinfo " +
        "the server lets it pass for any origin; the real answer is readable here only " +
        "because the client the token was issued to lists this origin in allowed_cors_origins.",
    );
    const { response, body } = await call(item, metadata.userinfo_endpoint, {
      headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "application/json" },
    });
    if (!response.ok || !body) {
      say(item, `Userinfo refused (${refusal(body, response)}).`, "fail");
      throw new Stop("The userinfo call failed.");
    }
    userinfo = body;
    say(item, `✓ Readable: the server allowed ${location.origin} for this token's client.`, "pass");
  }

  async function refresh() {
    const item = step(
      "refresh",
      "Refresh: new tokens without the user",
      "grant_type=refresh_token at the token endpoint (RFC 6749 §6), with client_id in the " +
        "body and no secret; CORS as for the code exchange. The server rotates the refresh " +
        "token: the old one is dead once this answer arrives.",
    );
    const old = tokens.refresh_token;
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: old, client_id: app.clientId });
    const { response, body } = await call(item, metadata.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form,
    });
    if (!response.ok || !body || typeof body.access_token !== "string") {
      say(item, `The token endpoint refused (${refusal(body, response)}).`, "fail");
      throw new Stop("The refresh failed.");
    }
    tokens = { ...tokens, ...body };
    say(item, `✓ New tokens. Refresh token ${short(old)} → ${short(tokens.refresh_token)}.`, "pass");
    if (body.id_token) await checkIdToken(true);
  }

  async function forget() {
    if (tokens && tokens.refresh_token && metadata && metadata.revocation_endpoint) {
      const item = step(
        "revoke",
        "Revocation: the refresh token killed at the server",
        "POST token=<refresh token> to the revocation endpoint (RFC 7009 §2.1), with client_id " +
          "in the body; CORS as for the token endpoint. Revoking the refresh token ends its " +
          "grant, the access tokens with it.",
      );
      const form = new URLSearchParams({
        token: tokens.refresh_token, token_type_hint: "refresh_token", client_id: app.clientId,
      });
      try {
        const { response, body } = await call(item, metadata.revocation_endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: form,
        });
        say(item, response.ok ? "✓ Revoked (HTTP 200)." : `Not revoked (${refusal(body, response)}).`, response.ok ? "pass" : "fail");
      } catch (error) {
        if (!(error instanceof Stop)) throw error; // forget the tokens anyway
      }
    }
    tokens = null;
    idToken = null;
    userinfo = null;
    const item = step(
      "forget",
      "Forgotten",
      "The script dropped its variables: no token is left in this page. Your session at the " +
        "authorization server (its own cookie, on its own origin) is untouched, so a new Log " +
        "in may skip the password if you ticked \"remember me\". Ending that session too is " +
        "OpenID Connect RP-initiated logout, which the main demo client shows.",
    );
    say(item, "✓ Nothing to forget any more.", "pass");
  }

  // -- the page --------------------------------------------------------------------------

  function fillTable(id, rows) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...rows.map((cells) => {
      const row = element("tr", cells.attributes || {});
      cells.values.forEach((value, index) => {
        const cell = element(index === 0 ? "th" : "td", index === 0 ? { scope: "row" } : {});
        cell.append(index === 1 && cells.code !== false ? element("code", {}, value) : document.createTextNode(value));
        row.append(cell);
      });
      return row;
    }));
  }

  function render() {
    const loggedIn = tokens !== null;
    buttons.login.hidden = loggedIn;
    buttons.login.disabled = metadata === null;
    [buttons.userinfo, buttons.refresh, buttons.forget].forEach((button) => { button.hidden = !loggedIn; });
    buttons.refresh.hidden = !loggedIn || !tokens.refresh_token;
    $("spa-tokens").hidden = !loggedIn;
    $("spa-userinfo-panel").hidden = !loggedIn || userinfo === null;
    if (!loggedIn) {
      ["spa-access-token", "spa-refresh-token", "spa-id-token"].forEach((id) => { $(id).textContent = ""; });
      return;
    }
    $("spa-token-facts").textContent =
      `token_type ${tokens.token_type}, expires_in ${tokens.expires_in} s, scope "${tokens.scope}".`;
    $("spa-access-token").textContent = tokens.access_token;
    $("spa-refresh-token").textContent = tokens.refresh_token || "(none: no offline_access)";
    $("spa-id-token").textContent = tokens.id_token || "(none)";
    if (idToken) {
      fillTable("spa-id-claims", Object.entries(idToken.claims).map(([name, value]) => ({
        attributes: { "data-claim": name },
        values: [name, TIME_CLAIMS.has(name) ? when(value) : printed(value)],
      })));
      fillTable("spa-id-checks", idToken.checks.map(([name, ok, rule]) => ({
        attributes: { class: ok ? "pass" : "fail" },
        values: [name, ok ? "✓ passed" : "✗ failed", rule],
        code: false,
      })));
    }
    if (userinfo) {
      fillTable("spa-userinfo", Object.entries(userinfo).map(([name, value]) => ({
        attributes: { "data-claim": name },
        values: [name, printed(value)],
      })));
    }
  }

  async function run(action, done) {
    Object.values(buttons).forEach((button) => { button.disabled = true; });
    setStatus("Working…", "busy");
    try {
      await action();
      if (root.dataset.state === "busy") setStatus(done(), tokens ? "logged-in" : "ready");
    } catch (error) {
      const message = error instanceof Stop ? error.message : `Unexpected error: ${error.name}: ${error.message}`;
      setStatus(message, "failed");
    } finally {
      Object.values(buttons).forEach((button) => { button.disabled = false; });
      render();
    }
  }

  const loggedInText = () =>
    "Logged in. The tokens are in this page's memory only: a reload forgets them.";

  if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
    setStatus(
      "This page needs a secure context: https, or http on 127.0.0.1 or localhost. Browsers " +
        "give scripts crypto.subtle (PKCE's SHA-256) nowhere else.",
      "failed",
    );
    return;
  }
  buttons.login.addEventListener("click", () => run(login, () => "Going to the authorization server…"));
  buttons.userinfo.addEventListener("click", () => run(callUserinfo, loggedInText));
  buttons.refresh.addEventListener("click", () => run(refresh, loggedInText));
  buttons.forget.addEventListener("click", () =>
    run(forget, () => "Logged out here: the tokens are forgotten and the refresh token revoked."));

  const params = new URLSearchParams(window.location.search);
  if (params.has("code") || params.has("error")) {
    run(() => finishLogin(params), loggedInText);
  } else {
    run(discover, () => "Not logged in. Press Log in: you will come back here with a code.");
  }
})();
