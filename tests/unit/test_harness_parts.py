"""The harness's parts without HTTP: the clock, the decision queue, the config file's
checks, and a start that fails half-way (nothing left running or listening)."""

from __future__ import annotations

import socket
import threading

import pytest

from authserver.domain.clock import Clock
from authserver.harness.config import HarnessConfigError, parse_config, seconds_of
from authserver.harness.decisions import (
    DecisionError,
    DecisionQueue,
    parse_decision,
)


class FakeTime:
    def __init__(self):
        self.now = 1_000.0

    def __call__(self):
        return self.now


def test_the_clock_follows_the_system_clock_plus_what_was_added():
    source = FakeTime()
    clock = Clock(source)
    assert clock.now() == 1_000
    clock.advance(60)
    source.now += 5
    assert clock.now() == 1_065 and clock.offset == 60


def test_a_frozen_clock_stands_still_then_runs_on_from_where_it_stood():
    source = FakeTime()
    clock = Clock(source)
    clock.freeze()
    source.now += 100
    assert clock.now() == 1_000 and clock.frozen
    clock.advance(10)
    assert clock.now() == 1_010
    clock.unfreeze()
    source.now += 1
    assert clock.now() == 1_011 and not clock.frozen  # no jump to catch up
    clock.reset()
    assert clock.now() == int(source.now)


def test_the_clock_never_goes_back():
    with pytest.raises(ValueError):
        Clock().advance(-1)


def test_decisions_for_one_client_wait_for_it_and_others_pass():
    queue = DecisionQueue()
    for_b = parse_decision({"subject": "alice", "client_id": "b"})
    anyone = parse_decision({"subject": "bob"})
    queue.add(for_b)
    queue.add(anyone)
    assert queue.take("a") == anyone
    assert queue.take("a") is None
    assert queue.take("b") == for_b


@pytest.mark.parametrize(
    "document",
    [
        {"subject": "alice", "claims": {"acr": "x"}},
        {"subject": "alice", "grant_scope": "a b\u0000"},
        {"error": "access denied"},
        {"error": "x" * 101},
        {"error": "access_denied", "error_description": "x" * 501},
        {"subject": "a\nb"},
        {"subject": "x" * 256},
    ],
)
def test_bad_decisions(document):
    with pytest.raises(DecisionError):
        parse_decision(document)


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), (1.9, 1), ("90s", 90), ("1h30m", 5400), ("0", 0)]
)
def test_durations(value, seconds):
    assert seconds_of(value) == seconds


@pytest.mark.parametrize("value", [True, -1, "soon", None, [], float("nan")])
def test_bad_durations(value):
    with pytest.raises(ValueError):
        seconds_of(value)


def test_every_problem_of_a_config_is_listed_at_once():
    with pytest.raises(HarnessConfigError) as raised:
        parse_config(
            {
                "token_strategy": "paseto",
                "default_user": "zoe",
                "users": {"bob": {"sub": "x"}},
                "colour": "red",
            }
        )
    text = str(raised.value)
    for part in ("token_strategy", "bob", "colour"):
        assert part in text
    # default_user is not checked against users that could not be read.
    assert len(raised.value.problems) == 3


def test_a_start_that_fails_half_way_leaves_nothing_running(monkeypatch):
    from authserver.harness import seed
    from authserver.harness.server import HarnessServer

    def broken(self, session):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(seed.ConfiguredClients, "install", broken)
    ports = [_free_port(), _free_port()]
    server = HarnessServer(parse_config({}), public_port=ports[0], admin_port=ports[1])
    with pytest.raises(RuntimeError, match="on purpose"):
        server.start()
    assert not [t for t in threading.enumerate() if t.name.startswith("authserver-harness")]
    for port in ports:  # closed again: they can be bound at once
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
