"""The API ports, bound before serving so that a port in use is reported at once."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from authserver.config import Settings


class ListenError(Exception):
    """A port that cannot be listened on, as one line."""


@dataclass
class Listener:
    name: str  # "public" or "admin"
    host: str
    port: int
    socket: socket.socket


def open_listeners(settings: Settings, which: str, shared: bool = False) -> list[Listener]:
    """Bind the API ports before serving, so a port in use is reported at once.

    ``shared``: the sockets get SO_REUSEPORT and are not listened on here; each worker
    process then binds its own socket to the same port and the kernel spreads incoming
    connections over the workers (a socket inherited by all of them would let whichever
    worker wakes first take every keep-alive connection)."""
    wanted = []
    if which in ("all", "public"):
        wanted.append(("public", settings.public_host, settings.public_port))
    if which in ("all", "admin"):
        wanted.append(("admin", settings.admin_host, settings.admin_port))
    listeners: list[Listener] = []
    try:
        for name, host, port in wanted:
            listeners.append(Listener(name, host, port, bind_socket(host, port, shared)))
            if not shared:
                listeners[-1].socket.listen(1024)
    except OSError as exc:
        for listener in listeners:
            listener.socket.close()
        if exc.errno == errno.EADDRINUSE:
            raise ListenError(f"port {port} ({name} API) is already in use") from None
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return listeners


def bind_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(info[4])
    except OSError:
        sock.close()
        raise
    return sock
