"""The API roots (issue #12): what this server is and its main endpoints, as HTML in the
project's look for a browser and as a small JSON document for everyone else, plus the
favicon every browser asks each port for.

The endpoints listed are those the app really routes, with the methods it routes them for;
``public/index.py`` and ``admin/index.py`` say which ones to show."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import Response, current_app, jsonify, render_template, request

from authserver import __version__

STATIC = Path(__file__).resolve().parent.parent / "static"
_STYLE = (STATIC / "index.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
_FAVICON = (STATIC / "favicon.ico").read_bytes()

HTML_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
HYDRA_REFERENCE = "https://www.ory.sh/docs/hydra/reference/api"


@dataclass(frozen=True)
class Entry:
    """One endpoint to show: its JSON key, a line for people, its path as documented."""

    name: str
    title: str
    path: str  # "/admin/keys/{set_id}": the OpenAPI form of the route
    link: bool = False  # a GET worth following from the page


@dataclass(frozen=True)
class Index:
    api: str  # "public" or "admin"
    title: str
    description: str
    entries: tuple[Entry, ...]
    links: tuple[tuple[str, str, str], ...] = ()  # (JSON key, title, URL)
    notes: tuple[str, ...] = ()


def routed_methods() -> dict[str, list[str]]:
    """Every route of the current app, in the OpenAPI form, with its methods."""
    routes: dict[str, set[str]] = {}
    for rule in current_app.url_map.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        routes.setdefault(path, set()).update((rule.methods or set()) - _IGNORED_METHODS)
    return {path: sorted(methods) for path, methods in routes.items()}


def endpoints(index: Index, base: str) -> list[dict]:
    """The entries the app routes, with their methods and URLs (``base`` + path: absolute
    on the public port, where the public URL is configured; the path on the admin port)."""
    routed = routed_methods()
    return [
        {
            "name": entry.name,
            "title": entry.title,
            "path": entry.path,
            "url": base + entry.path,
            "methods": routed[entry.path],
            "link": entry.link,
        }
        for entry in index.entries
        if entry.path in routed
    ]


def index_response(index: Index, base: str = "") -> Response:
    """HTML when the client prefers it to JSON (a browser), JSON otherwise (``*/*``)."""
    listed = endpoints(index, base)
    html = _wants_html()
    response = _html(index, listed) if html else jsonify(_document(index, listed))
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Accept"
    return response


def _wants_html() -> bool:
    offered = ("application/json", "text/html")  # the first wins a tie (Accept: */*)
    return request.accept_mimetypes.best_match(offered) == "text/html"


def _document(index: Index, listed: list[dict]) -> dict:
    return {
        "name": "authserver",
        "api": index.api,
        "version": __version__,
        "description": index.description,
        "endpoints": {item["name"]: _described(item) for item in listed},
        "links": {key: url for key, _title, url in index.links},
    }


def _described(item: dict) -> dict:
    described = {key: item[key] for key in ("title", "methods", "path")}
    if item["url"] != item["path"]:  # an absolute URL is known (the public one)
        described["url"] = item["url"]
    return described


def _html(index: Index, listed: list[dict]) -> Response:
    page = {
        "title": index.title,
        "description": index.description,
        "endpoints": listed,
        "links": [{"title": title, "url": url} for _key, title, url in index.links],
        "notes": index.notes,
        "version": __version__,
        "favicon": "favicon.ico",  # relative: the page's own origin and prefix
    }
    html = render_template("index.html", index=page, style=_STYLE)
    return Response(html, mimetype="text/html", headers=HTML_HEADERS)


def favicon_response() -> Response:
    response = Response(_FAVICON, mimetype="image/x-icon")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
