"""Child processes of the servers: stop them (SIGTERM, then SIGKILL), and make a child end
with its parent. Shared by the ``--workers`` supervisor, the Granian servers and their
workers."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time

log = logging.getLogger("authserver.workers")

_PR_SET_PDEATHSIG = 1


def stop_children(pids: set[int], grace: float) -> None:
    """SIGTERM the child processes, wait up to ``grace`` seconds, then SIGKILL the rest."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    remaining = set(pids)
    deadline = time.monotonic() + grace
    while remaining and time.monotonic() < deadline:
        remaining = {pid for pid in remaining if not _exited(pid)}
        time.sleep(0.05)
    for pid in remaining:
        _signal(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def end_with_parent(parent: int, on_gone=None) -> None:
    """Make this (forked) process stop when ``parent`` dies, even by ``kill -9``: orphaned
    workers would keep serving the ports, or make the next start fail with "port in use".

    Linux delivers SIGTERM on the parent's death (``PR_SET_PDEATHSIG``); elsewhere, and
    as a second line, a thread notices the re-parenting. SIGTERM then stops the worker
    the graceful way. ``on_gone()`` runs first, in that thread."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    threading.Thread(target=_watch_parent, args=(parent, on_gone), daemon=True).start()


def _watch_parent(parent: int, on_gone) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    log.warning("the parent process (pid %d) is gone: stopping", parent)
    if on_gone is not None:
        on_gone()
    os.kill(os.getpid(), signal.SIGTERM)


def _exited(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True  # already reaped


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
