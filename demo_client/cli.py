"""``demo-client [--register] [--host H] [--port P]``: serve the demo client with waitress.

Settings come from the environment (see ``demo_client.config``); ``--register`` (or
``DEMO_CLIENT_REGISTER=true``) first creates or updates this app's client on the admin API
(never another running demo client's, unless ``--overwrite``), with a freshly generated
secret kept in memory when ``DEMO_CLIENT_SECRET`` is unset (with
``DEMO_CLIENT_AUTH_METHOD=private_key_jwt``: the public half of its key, and no secret), and
then the single-page app's public client (``/spa``). SIGTERM and Ctrl-C stop it
cleanly (exit 0); every failure is one line on stderr.
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
from demo_client.config import Config, ConfigError, load_config
from demo_client.logs import configure_logging
from demo_client.register import RegistrationError, register_client, register_spa_client

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
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="with --register, replace the client even if it has other redirect URIs "
        "(env DEMO_CLIENT_OVERWRITE)",
    )
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port to listen on (env PORT, default 4446)", default=None
    )
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(f"demo-client: {message}", file=sys.stderr, flush=True)


def _fail(message: str, code: int = 1) -> int:
    _say(message)
    return code


def _register(config: Config, generated: bool) -> Config:
    """Register the two clients; the config under the ids they got. Raises
    RegistrationError."""
    registration = register_client(config, say=_say)
    note = " with a new secret kept in memory" if generated else ""
    key = config.client_key
    if key is not None:  # the kid is public: it names the key in the client's jwks
        kept = "a new key kept in memory" if key.generated else "the key from the key file"
        note = f" for private_key_jwt with {kept} (kid {key.kid}, {key.alg})"
    _say(f"{registration.outcome} client {registration.client_id!r}{note}")
    config = config.with_client_id(registration.client_id)
    spa = register_spa_client(config, say=_say)
    _say(
        f"{spa.outcome} public client {spa.client_id!r} "
        f"for the single-page app at {config.spa_redirect_uri}"
    )
    return config.with_spa_client_id(spa.client_id)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    configure_logging(logging.INFO)
    if args.port is not None and not 1 <= args.port <= 65535:
        return _fail(f"--port must be between 1 and 65535, not {args.port}", 2)
    try:
        config = load_config(
            host=args.host,
            port=args.port,
            register=args.register or None,
            overwrite=args.overwrite or None,
        )
    except ConfigError as exc:
        return _fail(str(exc), 2)
    if config.register and not config.admin_url:
        return _fail(
            "--register needs DEMO_CLIENT_ADMIN_URL, the admin API "
            "(http://127.0.0.1:9001 with make demo, http://127.0.0.1:4445 natively)",
            2,
        )
    generated = False
    if config.register and not config.client_secret and config.client_key is None:
        config = config.with_secret(secrets.token_urlsafe(32))
        generated = True

    app = None  # made once registration has chosen the client id

    def application(environ, start_response):
        return app(environ, start_response)

    try:  # listen first: a busy port fails before anything is registered
        server = create_server(
            application, host=config.host, port=config.port, ident="demo-client", threads=8
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(f"port {config.port} is already in use (choose another with --port)")
        return _fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror}")

    if config.register:
        try:
            config = _register(config, generated)
        except RegistrationError as exc:
            server.close()
            return _fail(str(exc))
    key = config.client_key
    if key is not None and not config.register:  # the kid is public; the key never shown
        _say(f"client {config.client_id!r} authenticates with private_key_jwt (kid {key.kid})")
    app = create_app(config)

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _say(
        f"listening on http://{config.host}:{config.port}/ "
        f"(redirect URI {config.redirect_uri}; Ctrl-C stops)"
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
