"""CPU time of the PostgreSQL backends serving the benchmark database.

With PostgreSQL part of each request's work happens in other processes (one backend per
pooled connection): the server's own CPU figure does not show it. A background thread
reads the backends' utime+stime from /proc every ``interval`` seconds (the backend list
from ``pg_stat_activity`` every ``refresh`` seconds), so any window of the run can be
asked for afterwards. SQLite runs inside the server process: nothing to add there.
"""

from __future__ import annotations

import bisect
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from bench.procfs import cpu_seconds


class DatabaseCpu(threading.Thread):
    def __init__(self, dsn: str, interval: float = 0.25, refresh: float = 2.0):
        super().__init__(daemon=True, name="db-cpu")
        parts = urlsplit(dsn)
        # Hydra's pool options (max_conns=...) are no libpq parameters: drop the query.
        self._conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.interval, self.refresh = interval, refresh
        self._stop_event = threading.Event()
        self._times: list[float] = []
        self._totals: list[float] = []
        self.error: str | None = None

    def _backends(self, conn) -> list[int]:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return [row[0] for row in rows]

    def run(self) -> None:
        import psycopg

        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            self.error = str(exc)
            return
        last: dict[int, float] = {}
        total = 0.0
        pids: list[int] = []
        listed = 0.0
        try:
            while not self._stop_event.is_set():
                now = time.time()
                if now - listed >= self.refresh:
                    pids, listed = self._backends(conn), now
                for pid in pids:
                    used = cpu_seconds([pid])
                    # A backend seen for the first time counts from now on (conservative).
                    total += max(0.0, used - last.get(pid, used))
                    last[pid] = used
                self._times.append(now)
                self._totals.append(total)
                self._stop_event.wait(self.interval)
        except psycopg.Error as exc:
            self.error = str(exc)
        finally:
            conn.close()

    def _at(self, moment: float) -> float | None:
        """Cumulative backend CPU seconds at ``moment``, interpolated between samples."""
        times, totals = list(self._times), list(self._totals)
        if not times or moment < times[0]:
            return None
        i = bisect.bisect_left(times, moment)
        if i >= len(times):
            return totals[-1]
        if times[i] == moment or i == 0:
            return totals[i]
        share = (moment - times[i - 1]) / (times[i] - times[i - 1])
        return totals[i - 1] + share * (totals[i] - totals[i - 1])

    def between(self, start: float, end: float) -> float | None:
        """Backend CPU seconds spent between two ``time.time()`` moments."""
        a, b = self._at(start), self._at(end)
        return None if a is None or b is None else round(b - a, 3)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)
