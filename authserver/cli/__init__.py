"""The ``authserver`` command (the commands themselves are in ``cli.commands``).

``authserver serve`` (and ``harness``) loads only what serving needs: the other commands'
modules (HTTP clients, the demo runner, ...) would cost every server process memory for
nothing.
"""

from __future__ import annotations

import sys

import click


def _command_line(args: list[str]) -> click.Group:
    if args[:1] == ["serve"]:
        from authserver.cli.server_cmd import serve

        return click.Group(name="authserver", commands={"serve": serve})
    if args[:1] == ["harness"]:  # likewise, and a test harness's start is awaited by a suite
        from authserver.cli.harness_cmd import harness

        return click.Group(name="authserver", commands={"harness": harness})
    from authserver.cli.commands import cli

    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure ends as one line on stderr and a non-zero exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        # Without standalone mode Click returns (not raises) the code of a click Exit.
        status = _command_line(args).main(args=args, prog_name="authserver", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"authserver: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"authserver: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("authserver: aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(status if isinstance(status, int) else 0)
