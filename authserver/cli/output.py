"""Output in Hydra's formats: tab-aligned tables (Go's tabwriter with tab padding), JSON
and pretty JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

FORMATS = ("table", "json", "json-pretty", "default")
TAB_WIDTH = 8
EMPTY = "<empty>"


def _tab_align(lines: Sequence[Sequence[str]]) -> str:
    """Align cells the way Go's text/tabwriter does with padchar '\\t' and padding 1:
    each column is as wide as its widest cell plus one, rounded up to a multiple of 8."""
    columns = max((len(line) for line in lines), default=0)
    widths = [0] * columns
    for line in lines:
        for index, cell in enumerate(line[:-1]):
            widths[index] = max(widths[index], len(cell) + 1)
    out = []
    for line in lines:
        parts = []
        for index, cell in enumerate(line):
            if index == len(line) - 1:
                parts.append(cell)
                break
            width = -(-widths[index] // TAB_WIDTH) * TAB_WIDTH
            parts.append(cell + "\t" * -(-(width - len(cell)) // TAB_WIDTH))
        out.append("".join(parts))
    return "\n".join(out)


def print_json(document: Any, fmt: str) -> None:
    if fmt == "json-pretty":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(json.dumps(document, separators=(",", ":")))


def print_row(headers: Sequence[str], values: Sequence[str], document: Any, fmt: str) -> None:
    """One object: a ``HEADER<tab>VALUE`` line per field, or its JSON."""
    if fmt in ("json", "json-pretty"):
        print_json(document, fmt)
        return
    click.echo(_tab_align([[header, value] for header, value in zip(headers, values, strict=True)]))


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], document: Any, fmt: str
) -> None:
    """Several objects: a header line and one line each, or their JSON."""
    if fmt in ("json", "json-pretty"):
        print_json(document, fmt)
        return
    click.echo(_tab_align([list(headers), *[list(row) for row in rows]]))


def go_time(epoch: int | float | None) -> str:
    """A UNIX time the way Go's ``time.Time.String`` prints it, in the local time zone."""
    moment = datetime.fromtimestamp(epoch or 0).astimezone()
    offset = moment.strftime("%z")
    zone = moment.tzname() or offset
    return f"{moment:%Y-%m-%d %H:%M:%S} {offset} {zone}"


CLIENT_HEADERS = (
    "CLIENT ID",
    "CLIENT SECRET",
    "GRANT TYPES",
    "RESPONSE TYPES",
    "SCOPE",
    "AUDIENCE",
    "REDIRECT URIS",
)


def client_cells(client: dict) -> list[str]:
    return [
        client.get("client_id", ""),
        client.get("client_secret", "") or "",
        ", ".join(client.get("grant_types") or []),
        ", ".join(client.get("response_types") or []),
        client.get("scope", "") or "",
        ",".join(client.get("audience") or []),
        ", ".join(client.get("redirect_uris") or []),
    ]


INTROSPECTION_HEADERS = ("ACTIVE", "SUBJECT", "CLIENT ID", "SCOPE", "EXPIRY", "TOKEN USE")


def introspection_cells(result: dict) -> list[str]:
    if not result.get("active"):
        return ["false", "", "", "", "", ""]
    return [
        "true",
        result.get("sub", ""),
        result.get("client_id", ""),
        result.get("scope", ""),
        go_time(result.get("exp")),
        result.get("token_use", ""),
    ]


TOKEN_HEADERS = ("ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY")


def token_cells(token: dict, expiry: float) -> list[str]:
    return [
        token.get("access_token") or EMPTY,
        token.get("refresh_token") or EMPTY,
        token.get("id_token") or EMPTY,
        go_time(expiry),
    ]


JWK_HEADERS = ("SET ID", "KEY ID", "ALGORITHM", "USE")
