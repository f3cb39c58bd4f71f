"""Pieces every CLI command shares: endpoint and format options, an HTTP client that turns
every failure into one clear line, and the error type the entry point prints."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

from authserver import __version__

if TYPE_CHECKING:
    import requests

ADMIN_DEFAULT = "http://127.0.0.1:4445"
PUBLIC_DEFAULT = "http://127.0.0.1:4444"
TIMEOUT_SECONDS = 10


class CliError(click.ClickException):
    """Printed as ``authserver: <message>`` on stderr, exit status 1."""

    exit_code = 1


def endpoint_options(default: str, kind: str):
    """``-e/--endpoint`` (env ``ORY_SDK_URL``), ``--format``, ``--skip-tls-verify``."""

    def decorator(command):
        @click.option(
            "-e",
            "--endpoint",
            default=None,
            metavar="URL",
            help=f"The {kind} API URL (env ORY_SDK_URL; default {default}).",
        )
        @click.option(
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "json-pretty", "default"]),
            default="table",
            show_default=True,
            help="Output format.",
        )
        @click.option(
            "--skip-tls-verify",
            is_flag=True,
            help="Do not verify TLS certificates (self-signed test servers only).",
        )
        @functools.wraps(command)
        def wrapper(*args, endpoint, fmt, skip_tls_verify, **kwargs):
            url = endpoint or os.environ.get("ORY_SDK_URL") or default
            api = ApiClient(url, verify=not skip_tls_verify)
            return command(*args, api=api, fmt=fmt, **kwargs)

        return wrapper

    return decorator


class ApiClient:
    def __init__(self, base_url: str, verify: bool = True):
        import requests  # lazily: `authserver serve` never needs it (memory)

        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()
        self._session.verify = verify
        self._session.headers["User-Agent"] = f"authserver-cli/{__version__}"

    def request(self, method: str, path: str, *, expected=(200,), **kwargs) -> requests.Response:
        import requests

        url = self.base_url + path
        try:
            response = self._session.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.exceptions.SSLError:
            raise CliError(
                f"TLS error talking to {self.base_url} (see --skip-tls-verify)"
            ) from None
        except requests.exceptions.ConnectionError:
            raise CliError(
                f"cannot reach {self.base_url}: is the server running? (set --endpoint)"
            ) from None
        except requests.exceptions.Timeout:
            raise CliError(f"{self.base_url} did not answer within {TIMEOUT_SECONDS}s") from None
        except requests.exceptions.InvalidURL:
            raise CliError(f"invalid endpoint URL {self.base_url!r}") from None
        if response.status_code not in expected:
            raise CliError(describe_error(response))
        return response

    def json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise CliError(f"{self.base_url} answered {path} with something not JSON") from None


def describe_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        description = body.get("error_description") or ""
        return f"{body['error']}: {description}".rstrip(": ") + f" (HTTP {response.status_code})"
    return f"the server answered HTTP {response.status_code}"


def form_auth(client_id: str, client_secret: str) -> tuple[str, str]:
    """RFC 6749 §2.3.1: form-encode id and secret before HTTP Basic encodes them."""
    return quote(client_id, safe=""), quote(client_secret, safe="")


def split_list(values: tuple[str, ...] | list[str]) -> list[str]:
    """Hydra's list flags accept repeated flags, comma lists, or both."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
