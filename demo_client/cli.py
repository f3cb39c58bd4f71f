"""``demo-client [--register] [--host H] [--port P]``: serve the demo client with waitress.

Settings come from the environment (see ``demo_client.config``); ``--register`` (or
``DEMO_CLIENT_REGISTER=true``) first creates or updates the client on the admin API, with a
freshly generated secret kept in memory when ``DEMO_CLIENT_SECRET`` is unset. SIGTERM and
Ctrl-C stop it cleanly (exit 0); every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import logging
import secrets
import signal
import sys

from waitress.server import create_server

from demo_client import create_app
from demo_client.config import ConfigError, load_config
from demo_client.logs import configure_logging
from demo_client.register import RegistrationError, register_client

log = logging.getLogger("demo_client.cli")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="demo-client",
        description="The demo OAuth 2.0 / OpenID Connect client with a flow inspector.",
    )
    parser.add_argument(
        "--register",
        action="store_true",
        help="create or update the client on the admin API first (env DEMO_CLIENT_REGISTER)",
    )
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (env PORT, default 4446)", default=None
    )
    return parser.parse_args(argv)


def _fail(message: str, code: int = 1) -> int:
    print(f"demo-client: {message}", file=sys.stderr, flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    configure_logging(logging.INFO)
    if args.port is not None and not 1 <= args.port <= 65535:
        return _fail(f"--port must be between 1 and 65535, not {args.port}", 2)
    try:
        config = load_config(host=args.host, port=args.port, register=args.register or None)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    if config.register and not config.admin_url:
        return _fail(
            "--register needs DEMO_CLIENT_ADMIN_URL, the admin API (e.g. http://127.0.0.1:4445)", 2
        )
    generated = False
    if config.register and not config.client_secret:
        config = config.with_secret(secrets.token_urlsafe(32))
        generated = True

    app = create_app(config)
    try:
        server = create_server(
            app, host=config.host, port=config.port, ident="demo-client", threads=8
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(f"port {config.port} is already in use (choose another with --port)")
        return _fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror}")

    if config.register:
        try:
            outcome = register_client(config)
        except RegistrationError as exc:
            server.close()
            return _fail(str(exc))
        note = " with a new secret kept in memory" if generated else ""
        print(
            f"demo-client: {outcome} client {config.client_id!r}{note}", file=sys.stderr, flush=True
        )

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"demo-client: listening on http://{config.host}:{config.port}/ "
        f"(redirect URI {config.redirect_uri}; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.run()  # returns after SIGTERM/SIGINT, once the worker threads are stopped
    except SystemExit:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
