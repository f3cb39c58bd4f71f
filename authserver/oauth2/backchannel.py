"""Sending back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.5).

The deliveries a session's end owes are rows (``domain.logout_deliveries``). The process
that ended the session sends them at once, holding the browser's answer for at most
``send_now``'s ``wait`` (3 s) while the rest go on in the background; a poller in every
serving process sends whatever is due once a second: retries after a failure, and
deliveries whose sender died (its lease ran out). Each POST is bounded at 5 s and goes
through ``outbound``'s rules (no redirects; private addresses only under ``--dev``). Log
lines name the client and the attempt, never the token.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from authserver import outbound
from authserver.domain.clock import Clock
from authserver.domain.logout_deliveries import LEASE_SECONDS, SEND_TIMEOUT, LogoutDelivery
from authserver.metrics import metrics
from authserver.oauth2.logout_tokens import LogoutTokens
from authserver.outbound import FetchError, FetchPolicy
from authserver.storage.logout_deliveries import LogoutDeliveryRepository
from authserver.storage.repositories import ClientRepository

log = logging.getLogger("authserver.logout")

POLL_SECONDS = 1.0
SENDERS = 8  # concurrent POSTs per process: one slow client must not hold up the others


def delivery_policy(dev: bool) -> FetchPolicy:
    """Loopback is allowed (a developer's own apps); under --dev also private addresses and
    plain http to any host (the containers of a compose stack)."""
    return FetchPolicy(dev=dev, http_anywhere=dev, timeout=SEND_TIMEOUT)


class BackchannelLogout:
    def __init__(self, database, tokens: LogoutTokens, clock: Clock, policy: FetchPolicy):
        self._database = database
        self._tokens = tokens
        self._clock = clock
        self._policy = policy
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._poll_failing = False

    # -- sending ---------------------------------------------------------------------------

    def send_now(self, deliveries: list[LogoutDelivery], wait: float) -> None:
        """Send deliveries this process holds the lease of; return when all were answered or
        after ``wait`` seconds (the others finish in the background)."""
        futures = [future for future in map(self._submit, deliveries) if future is not None]
        if futures:
            concurrent.futures.wait(futures, timeout=wait)

    def _submit(self, delivery: LogoutDelivery):
        with self._lock:
            if delivery.id in self._in_flight or self._stop.is_set():
                return None
            self._in_flight.add(delivery.id)
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    SENDERS, thread_name_prefix="logout-sender"
                )
            return self._executor.submit(self._attempt, delivery)

    def _attempt(self, delivery: LogoutDelivery) -> None:
        try:
            error = self._post(delivery, self._mint(delivery))
            self._record(delivery, error)
        except SQLAlchemyError as exc:
            # The row keeps its lease, then becomes due again: a poller retries it.
            log.warning(
                "back-channel logout to client %s not recorded: database error (%s)",
                delivery.client_id,
                type(exc).__name__,
            )
        except Exception:
            log.exception("back-channel logout to client %s failed", delivery.client_id)
        finally:
            with self._lock:
                self._in_flight.discard(delivery.id)

    def _mint(self, delivery: LogoutDelivery) -> str:
        # Read-only: the signing key exists (made at start), and on SQLite a reader does
        # not queue for the one write slot.
        with self._database.transaction(write=False) as session:
            stored = ClientRepository(session).get(delivery.client_id)
            return self._tokens.issue(
                session,
                client_id=delivery.client_id,
                subject=delivery.subject,
                sid=delivery.sid,
                alg=stored.client.id_token_signed_response_alg if stored else "",
            )

    def _post(self, delivery: LogoutDelivery, token: str) -> str | None:
        """None once the client took the token, else why not."""
        try:
            status = outbound.post_form(delivery.uri, {"logout_token": token}, self._policy)
        except FetchError as exc:
            return str(exc)
        # §2.8 asks for 200; a 204 says the same.
        return None if 200 <= status < 300 else f"the client answered HTTP {status}"

    def _record(self, delivery: LogoutDelivery, error: str | None) -> None:
        attempt = delivery.attempts + 1
        later = None if error is None else delivery.after_failure(error, self._clock.now())
        with self._database.transaction() as session:
            deliveries = LogoutDeliveryRepository(session)
            if later is None:
                deliveries.delivered(delivery.id)
            else:
                deliveries.reschedule(later)
        metrics().backchannel_attempt(
            "delivered" if error is None else "failed" if later else "given_up"
        )
        if error is None:
            log.info(
                "back-channel logout delivered to client %s (attempt %d)",
                delivery.client_id,
                attempt,
            )
        elif later is None:
            log.warning(
                "back-channel logout to client %s given up after %d attempts: %s",
                delivery.client_id,
                attempt,
                error,
            )
        else:
            log.warning(
                "back-channel logout to client %s failed (attempt %d: %s); next in %d s",
                delivery.client_id,
                attempt,
                error,
                later.next_attempt_at - self._clock.now(),
            )

    # -- the poller ------------------------------------------------------------------------

    def start(self) -> None:
        """Poll for due deliveries in the background (serving processes only)."""
        with self._lock:
            if self._poller is not None:
                return
            self._poller = threading.Thread(
                target=self._poll_forever, name="logout-poller", daemon=True
            )
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _poll_forever(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll_once()
            except SQLAlchemyError as exc:
                if not self._poll_failing:  # once per outage, not once a second
                    log.warning(
                        "logout deliveries not polled: database error (%s)", type(exc).__name__
                    )
                self._poll_failing = True
                continue
            if self._poll_failing:
                log.info("logout deliveries polled again")
            self._poll_failing = False

    def poll_once(self) -> int:
        """Claim and start sending the deliveries due now (as many as there are free
        senders); how many were started."""
        with self._lock:
            free = SENDERS - len(self._in_flight)
        if free <= 0:
            return 0
        now = self._clock.now()
        with self._database.transaction(write=False) as session:
            due = LogoutDeliveryRepository(session).due(now, free)
        started = 0
        for delivery_id in due:
            with self._database.transaction() as session:
                delivery = LogoutDeliveryRepository(session).claim(
                    delivery_id, now, now + LEASE_SECONDS
                )
            if delivery is not None and self._submit(delivery) is not None:
                started += 1
        return started
