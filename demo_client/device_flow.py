"""The device authorization grant (RFC 8628) played by this app: the device's side.

``DeviceFlow`` works on one browser's state (the caller holds its lock): ``start`` asks for
a device code, ``poll`` sends at most one token request per call and never sooner than the
interval allows (``slow_down`` adds 5 s). On success the tokens are stored exactly as after
the code flow (``ClientFlow.store_tokens``); a refusal or an expiry becomes
``errors.Explained`` after the poll is recorded for the inspector.
"""

from __future__ import annotations

import time

from demo_client import errors, inspector
from demo_client.discovery import ServerMetadata
from demo_client.flow import ClientFlow
from demo_client.oauth import DEVICE_AUTH_PATH, PendingDevice, TokenRequestFailed
from demo_client.transport import Exchange, Unreachable

SLOW_DOWN_SECONDS = 5  # RFC 8628 §3.5

# What ``poll`` returns: still waiting (and why), or done.
WAITING = "waiting"  # too early: no request was sent
PENDING = "authorization_pending"
SLOW_DOWN = "slow_down"
DONE = "done"


class DeviceFlow(ClientFlow):
    def _device_endpoint(self, metadata: ServerMetadata) -> tuple[str, bool]:
        if metadata.device_authorization_endpoint:
            return metadata.device_authorization_endpoint, True
        return self.config.backchannel_url.rstrip("/") + DEVICE_AUTH_PATH, False

    def start(self) -> PendingDevice:
        """RFC 8628 §3.1: a new device code; a new flow starts a new timeline."""
        self.state.steps = []
        self.state.message = ""
        self.state.device = None
        self.state.device_error = None
        metadata = self.metadata(always_record=True)
        url, discovered = self._device_endpoint(metadata)
        try:
            device, exchange = self.oauth.device_authorization(url, metadata)
        except Unreachable as exc:
            self.state.record(inspector.device_authorization_step(exc.exchange, discovered))
            raise errors.unreachable(exc.url, exc.reason, "the device authorization") from None
        except TokenRequestFailed as exc:
            self.state.record(inspector.device_authorization_step(exc.exchange, discovered))
            status = exc.exchange.status
            raise errors.device_authorization_refused(
                exc.error, exc.description, url, status
            ) from None
        self.state.record(inspector.device_authorization_step(exchange, discovered))
        self.state.device = device
        return device

    def poll(self) -> str:
        """One poll, if the interval allows. Raises ``errors.Explained`` when it ends badly."""
        device = self.state.device
        if device is None:
            raise errors.no_device_login()
        now = time.time()
        if now >= device.expires_at:
            self.state.device = None
            raise errors.device_error("expired_token", "expired here, before a poll", "", None)
        if now < device.next_poll_at:
            return WAITING
        metadata = self.metadata()
        tokens, exchange = self._send_poll(metadata, device)
        device.polls += 1
        device.next_poll_at = time.time() + device.interval
        if tokens is None:
            answer = inspector.poll_answer(exchange)
            if answer == SLOW_DOWN:
                device.interval += SLOW_DOWN_SECONDS
                device.next_poll_at += SLOW_DOWN_SECONDS
            self._record_poll(exchange, device, answer)
            return answer
        self._record_poll(exchange, device, "tokens")
        self.state.record(inspector.device_user_step(device.verification_uri, device.created_at))
        self.state.device = None
        self.store_tokens(metadata, tokens, nonce=None)
        self.state.message = "You are logged in with the device flow (RFC 8628)."
        return DONE

    def _send_poll(self, metadata: ServerMetadata, device: PendingDevice):
        try:
            return self.oauth.device_token(metadata, device.device_code)
        except (TokenRequestFailed, Unreachable) as exc:
            self._record_poll(exc.exchange, device, "failed")
            self.state.device = None
            if isinstance(exc, Unreachable):
                raise errors.unreachable(exc.url, exc.reason, "the device poll") from None
            raise errors.device_error(
                exc.error, exc.description, metadata.token_endpoint, exc.exchange.status
            ) from None

    def _record_poll(self, exchange: Exchange, device: PendingDevice, answer: str) -> None:
        """A run of identical authorization_pending answers stays one step, with a count."""
        steps = self.state.steps
        again = answer == PENDING == device.last_answer
        if again and steps and steps[-1].key == "device-poll":
            device.run += 1
            exchange.started_at = steps.pop().at  # the run starts at its first poll
        else:
            device.run = 1
        device.last_answer = answer
        self.state.record(inspector.device_poll_step(exchange, device.interval, device.run))
