"""The tests' stand-in web servers (a client's JWKS, document or logout endpoint, a fake
authserver). A client that gives up on purpose (a body too big, an answer too slow) cuts the
connection while the handler still writes; the standard server then prints a traceback to
stderr from its own thread, which lands in whichever test runs next. Those are expected;
anything else still prints."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset, ...
            return
        super().handle_error(request, client_address)
