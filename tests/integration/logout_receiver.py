"""A client's logout endpoints, played by the test: an HTTP server on 127.0.0.1 recording
every back-channel POST (its logout token) and front-channel GET, and answering each path
as the test says: at once, slowly, with an error, with a redirect, or not until released."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.quiet_server import QuietHTTPServer


@dataclass
class Received:
    path: str
    method: str
    form: dict[str, list[str]]
    content_type: str
    at: float = field(default_factory=time.monotonic)

    @property
    def logout_token(self) -> str:
        return self.form["logout_token"][0]


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    location: str = ""  # a redirect's target
    hold: threading.Event | None = None  # answer only once set


class LogoutReceiver:
    def __init__(self, port: int = 0):
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("ascii", "replace")
                receiver._answer(self, parse_qs(body), self.headers.get("Content-Type", ""))

            def do_GET(self):  # noqa: N802
                receiver._answer(self, parse_qs(urlsplit(self.path).query), "")

            def log_message(self, *args):
                pass

        self._server = QuietHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str, behaviour: Behaviour | None = None) -> str:
        self.behaviours[path] = behaviour or Behaviour()
        return self.origin + path

    def _answer(self, handler, form: dict, content_type: str) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.received.append(Received(path, handler.command, form, content_type))
        behaviour = self.behaviours.get(path, Behaviour(status=404))
        if behaviour.hold is not None:
            behaviour.hold.wait(60)
        if behaviour.delay:
            time.sleep(behaviour.delay)
        try:
            handler.send_response(behaviour.status)
            if behaviour.location:
                handler.send_header("Location", behaviour.location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:
            pass  # the server gave up waiting

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path == path]

    def close(self) -> None:
        for behaviour in self.behaviours.values():
            if behaviour.hold is not None:
                behaviour.hold.set()
        self._server.shutdown()
        self._server.server_close()
