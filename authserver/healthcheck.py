"""``authserver-healthcheck [URL]``: exit 0 when URL (default ``$HEALTHCHECK_URL``) answers
200 within two seconds, 1 otherwise. The containers' health checks call it: one argument,
no shell and no spaces, so every engine passes it through unchanged."""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("HEALTHCHECK_URL", "")
    if not url.startswith(("http://", "https://")):
        print("usage: authserver-healthcheck http://host:port/path", file=sys.stderr)
        sys.exit(2)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http(s) only)
            sys.exit(0 if response.status == 200 else 1)
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        sys.exit(1)
