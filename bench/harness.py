"""``python -m bench.harness``: how fast the test harness is for a test suite (issue #14).

Measures, on this machine:

* start: ``authserver harness`` from process start to its ready line (a cold start, as a
  CI service step sees it), and ``HarnessServer.start()`` inside a test process that has
  already imported the server (what the pytest plugin's session fixture costs);
* a minted token: ``POST /admin/harness/tokens`` over a keep-alive connection;
* a scripted headless login: authorize → built-in login and consent → callback → token
  endpoint (PKCE), with requests, as a test drives it.

Latencies are medians and 95th percentiles of sequential requests (a test's view, not a
load test). Targets: ready < 1 s, mint < 5 ms, login < 50 ms. For comparison, Keycloak in
Testcontainers takes 8-50 s to start (the figures cited in issue #14).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

CALLBACK = "http://127.0.0.1:8000/callback"
CONFIG = {
    "default_user": "bob",
    "users": {"bob": {"email": "bob@example.com"}},
    "clients": [
        {
            "client_id": "bench-app",
            "client_secret": "bench-secret-0123456789",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid offline_access email",
        }
    ],
}
READY = re.compile(rb"ready in (\d+) ms")


def cold_start(config_path: Path, runs: int) -> list[float]:
    """Seconds from spawning ``authserver harness`` to its ready line."""
    command = Path(sys.executable).with_name("authserver")
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        process = subprocess.Popen(
            [
                str(command),
                "harness",
                "--config",
                str(config_path),
                "--public-port",
                "0",
                "--admin-port",
                "0",
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        try:
            for line in process.stderr:
                if READY.search(line):
                    seconds.append(time.perf_counter() - began)
                    break
        finally:
            process.terminate()
            process.wait(15)
    return seconds


def in_process_starts(config, runs: int) -> list[float]:
    from authserver.harness.server import HarnessServer

    HarnessServer(config).start().stop()  # the imports, once, as in a test session
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        server = HarnessServer(config).start()
        seconds.append(time.perf_counter() - began)
        server.stop()
    return seconds


def mint_latencies(server, count: int) -> list[float]:
    import requests

    session = requests.Session()
    body = {"client_id": "bench-app", "subject": "bob", "scope": "openid offline_access"}
    url = server.admin_url + "/admin/harness/tokens"
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        response = session.post(url, json=body, timeout=10)
        seconds.append(time.perf_counter() - began)
        response.raise_for_status()
    return seconds


def login_latencies(server, count: int) -> list[float]:
    """Each: the authorization request with PKCE, the browser's part through the built-in
    login and consent (``Harness.follow``, as a test does it), the code exchanged."""
    import requests

    from authserver.testing import Harness

    harness = Harness(server.public_url, server.admin_url, issuer=server.issuer)
    token_session = requests.Session()
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": "bench-app",
                "redirect_uri": CALLBACK,
                "scope": "openid offline_access email",
                "state": secrets.token_urlsafe(12),
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        landed = harness.follow(f"{server.public_url}/oauth2/auth?{query}")
        code = parse_qs(urlparse(landed).query)["code"][0]
        tokens = token_session.post(
            server.public_url + "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
            auth=("bench-app", "bench-secret-0123456789"),
            timeout=10,
        )
        tokens.raise_for_status()
        seconds.append(time.perf_counter() - began)
    return seconds


def summary(name: str, seconds: list[float], target_ms: float) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered) * 1000
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000
    verdict = "ok" if median < target_ms else "OVER TARGET"
    return (
        f"{name:<34} median {median:8.1f} ms   p95 {p95:8.1f} ms   "
        f"(n={len(ordered)}, target < {target_ms:g} ms: {verdict})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__)
    parser.add_argument("--starts", type=int, default=5, help="cold and warm starts (5)")
    parser.add_argument("--requests", type=int, default=300, help="minted tokens (300)")
    parser.add_argument("--logins", type=int, default=100, help="scripted logins (100)")
    args = parser.parse_args(argv)

    import tempfile

    import yaml

    from authserver.harness.config import parse_config
    from authserver.harness.server import HarnessServer

    config = parse_config(CONFIG)
    with tempfile.TemporaryDirectory() as directory:
        config_path = Path(directory) / "harness.yaml"
        config_path.write_text(yaml.safe_dump(CONFIG))
        lines = [summary("start, new process (CLI)", cold_start(config_path, args.starts), 1000)]
    lines.append(summary("start, in a test process", in_process_starts(config, args.starts), 1000))
    server = HarnessServer(config).start()
    try:
        mint_latencies(server, 20)  # warm-up: connections, key caches
        login_latencies(server, 5)
        lines.append(summary("minted token", mint_latencies(server, args.requests), 5))
        lines.append(summary("scripted headless login", login_latencies(server, args.logins), 50))
    finally:
        server.stop()
    print("\n".join(lines))
    print("Keycloak in Testcontainers, for comparison: 8-50 s to start (issue #14).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
