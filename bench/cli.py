"""Command line of ``python -m bench`` (see bench/README.md)."""

from __future__ import annotations

import argparse
import re

from bench.paths import REPO_ROOT

SCENARIOS = ("token", "introspect", "authcode", "refresh")
_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000}


def token_sizes(text: str) -> list[int]:
    """``10000,1000000`` or ``10k,1M``: ascending, without repeats."""
    sizes = set()
    for item in text.split(","):
        found = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)\s*", item)
        if not found:
            raise argparse.ArgumentTypeError(f"{item!r} is not a count (examples: 10000, 10k, 1M)")
        sizes.add(int(found.group(1)) * _SUFFIXES[found.group(2).lower()])
    return sorted(sizes)


def scenario_list(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(SCENARIOS)}"
        )
    return list(dict.fromkeys(chosen))


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} must be NAME=VALUE")
    return key, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start authserver on a fresh database, seed it, and measure token issuance, "
        "introspection, authorization-code flows and refresh grants (see bench/README.md).",
    )
    server = p.add_argument_group("server")
    server.add_argument(
        "--dsn",
        default="sqlite",
        help="sqlite (fresh file in a temp dir), postgres (fresh benchcmd_* database, dropped "
        "afterwards), or a full sqlite:///FILE / postgres://USER@HOST:PORT/DB DSN used as it is "
        "(default: sqlite)",
    )
    server.add_argument(
        "--pg-server",
        default="postgres://postgres@127.0.0.1:5432",
        help="where --dsn postgres creates its database (default: %(default)s)",
    )
    server.add_argument("--keep-db", action="store_true", help="do not drop/remove the database")
    server.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `authserver serve all --dev`, repeatable; write it with '=', "
        "e.g. --serve-arg=--workers=2",
    )
    server.add_argument(
        "--env",
        action="append",
        default=[],
        type=key_value,
        metavar="NAME=VALUE",
        help="extra environment variable for the server, repeatable",
    )
    server.add_argument(
        "--port",
        type=int,
        help="public port (admin = port+1); default: the first free pair 4700/4701, 4710/4711, ...",
    )
    server.add_argument("--authserver", help="authserver command (default: next to this Python)")
    pin = server.add_mutually_exclusive_group()
    pin.add_argument(
        "--pin",
        default="0",
        metavar="CPUS",
        help="taskset CPU list for the server (default: 0); the load runs on the other CPUs",
    )
    pin.add_argument("--no-pin", action="store_true", help="pin neither server nor load")
    server.add_argument("--load-cpus", help="CPU list for the load (default: all but --pin)")

    load = p.add_argument_group("load")
    load.add_argument(
        "--scenarios",
        type=scenario_list,
        default=list(SCENARIOS),
        help="comma list of token, introspect, authcode, refresh (default: all)",
    )
    load.add_argument(
        "--tokens",
        type=token_sizes,
        default=[10_000],
        help="stored access tokens to seed before the load; a list (10000,1000000 or 10k,1M) "
        "runs token and introspect at each size (default: 10000)",
    )
    load.add_argument("--concurrency", type=int, default=8, help="in-flight requests/flows (8)")
    load.add_argument("--duration", type=int, default=10, help="measured seconds per scenario (10)")
    load.add_argument("--warmup", type=int, default=2, help="discarded seconds before each (2)")
    load.add_argument(
        "--procs", type=int, default=2, help="worker processes for authcode/refresh (2)"
    )
    load.add_argument(
        "--id-token-alg",
        choices=("RS256", "ES256", "EdDSA"),
        default="RS256",
        help="the flow client's id_token_signed_response_alg (RS256)",
    )
    load.add_argument(
        "--harness",
        default=str(REPO_ROOT.parent / "shared" / "bench"),
        help="directory of the shared wrk harness (bench.py, start-server.sh) "
        "(default: ../shared/bench from the repository root)",
    )
    load.add_argument(
        "--no-harness",
        action="store_true",
        help="run wrk directly with bench/wrk_post.lua instead of the harness's bench.py",
    )

    extra = p.add_argument_group("comparisons")
    extra.add_argument(
        "--compare",
        action="store_true",
        help="also run token and introspect against the harness's oidc-provider (127.0.0.1:9400)",
    )
    extra.add_argument(
        "--janitor",
        action="store_true",
        help="seed half of the tokens expired, and at each size run `authserver janitor --tokens` "
        "during a second run of --janitor-scenario",
    )
    extra.add_argument("--janitor-scenario", choices=("introspect", "token"), default="introspect")
    extra.add_argument("--janitor-batch-size", type=int, help="janitor --batch-size (its default)")
    extra.add_argument(
        "--expired-fraction",
        type=float,
        default=0.5,
        help="with --janitor: share of seeded rows already expired (0.5)",
    )
    extra.add_argument("--json-out", metavar="FILE", help="append this run as one JSON line")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.concurrency < 1 or args.duration < 1 or args.warmup < 0 or args.procs < 1:
        parser().error("--concurrency, --duration and --procs must be positive, --warmup >= 0")
    if not 0.0 <= args.expired_fraction < 1.0:
        parser().error("--expired-fraction must be in [0, 1)")
    # Imported after parsing: `--help` and a wrong option need not load the benchmark.
    from bench.run import execute

    return execute(args)
