"""Two guards against requests no browser sends, which would otherwise end in a 500.

- ``Request``: Werkzeug decodes the raw query string as strict UTF-8, so a byte such as
  0xFF sent unencoded would fail every page that reads a parameter. It is percent-encoded
  first, as a browser would have sent it: just an odd value.
- ``RejectBadHost``: a Host header that Werkzeug cannot route (an empty or over-long DNS
  label, such as ``a..b``) gets a plain 400 before Flask: inside Flask the request would
  have no URL adapter, and even the error page (it has links) would fail.
"""

from __future__ import annotations

import re

import flask
from werkzeug.exceptions import BadHost
from werkzeug.routing import Map

_NOT_PRINTABLE_ASCII = re.compile(rb"[^\x21-\x7e]")


class Request(flask.Request):
    def __init__(self, environ, *args, **kwargs):
        super().__init__(environ, *args, **kwargs)
        self.query_string = percent_encoded(self.query_string)


class RejectBadHost:
    """WSGI middleware around ``wsgi_app``, checking the Host against ``url_map``."""

    def __init__(self, wsgi_app, url_map: Map):
        self.wsgi_app = wsgi_app
        self.url_map = url_map

    def __call__(self, environ, start_response):
        try:
            self.url_map.bind_to_environ(environ)  # Werkzeug's own check, as Flask will do
        except BadHost as exc:
            return exc(environ, start_response)
        return self.wsgi_app(environ, start_response)


def percent_encoded(raw: bytes) -> bytes:
    """``raw`` with every byte outside printable ASCII as ``%XX``."""
    return _NOT_PRINTABLE_ASCII.sub(lambda match: b"%%%02X" % match[0][0], raw)
