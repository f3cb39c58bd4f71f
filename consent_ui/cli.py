"""``consent-ui [--host H] [--port P] [--user-store M:F]``: serve the app with waitress.
``consent-ui add-user EMAIL [--name N] [--db PATH]``: add a user to the SQLite example store.

Settings come from the environment (see README.md). SIGTERM and SIGINT stop it cleanly with
exit status 0; a missing setting, a user store that does not load or a busy port is one line
on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys

from waitress.server import create_server

from consent_ui import create_app
from consent_ui.config import ConfigError, from_env
from consent_ui.logs import configure_logging
from consent_ui.store_loader import load_user_store
from consent_ui.users_cli import add_user, add_user_arguments

log = logging.getLogger("consent_ui.cli")
THREADS = 4


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "add-user":
        return add_user(args)
    try:
        config = from_env()
        spec = args.user_store or config["USER_STORE"]
        user_store = load_user_store(spec) if spec else None  # None: the single user
    except ConfigError as exc:
        print(f"consent-ui: {exc}", file=sys.stderr)
        return 2
    host = args.host or config["HOST"]
    port = args.port or config["PORT"]
    configure_logging(config["LOG_LEVEL"])
    app = create_app(config, user_store=user_store)
    try:
        server = create_server(app, host=host, port=port, threads=THREADS, ident="consent-ui")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"consent-ui: port {port} is already in use", file=sys.stderr)
        else:
            print(f"consent-ui: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return serve(server, host, port)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="consent-ui",
        description="The login, consent and logout app for an OAuth2 authorization server.",
        epilog="Needs HYDRA_ADMIN_URL, the authorization server's admin API.",
    )
    parser.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (env PORT, default 3000)")
    parser.add_argument(
        "--user-store",
        metavar="MODULE:FACTORY",
        help="load your user store, e.g. consent_ui.sqlite_users:from_env "
        "(env CONSENT_UI_USER_STORE; default: the single user of CONSENT_UI_USER_*)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_user_arguments(
        commands.add_parser(
            "add-user",
            help="add a user to the SQLite example store (the password is asked, or read "
            "from stdin)",
        )
    )
    return parser.parse_args(argv)


def serve(server, host: str, port: int) -> int:
    def stop(_signum, _frame):
        raise SystemExit(0)  # waitress's loop catches it and stops its threads

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("consent-ui listening on http://%s:%s/", host, port)
    try:
        server.run()
    finally:
        server.close()
        log.info("consent-ui stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
