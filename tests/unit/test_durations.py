"""Go-style durations (``time.ParseDuration`` rules, negatives refused)."""

from __future__ import annotations

import pytest

from authserver.domain.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("1s", 1.0),
        ("30s", 30.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1h30m15s", 5415.0),
        ("720h", 720 * 3600.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("1.h", 3600.0),
        ("2us", 2e-6),
        ("2µs", 2e-6),
        ("10ns", 1e-8),
        ("1h1h", 7200.0),  # Go sums repeated units too
        (" 1h ", 3600.0),  # surrounding whitespace (YAML, env) is ignored
    ],
)
def test_valid_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "10",  # a bare number is only accepted for zero
        "00",
        "0.0",
        "1x",
        "-1h",  # negative durations are refused
        "+1h",
        "h",
        "ms",
        ".s",
        "1H",  # units are case-sensitive, as in Go
        "1 h",
        "1h30",  # trailing number without unit
        "1h-30m",
        "1d",
        "one hour",
    ],
)
def test_invalid_durations(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_duration_error_is_a_value_error():
    # Callers (config, client validation) catch ValueError; DurationError must be one.
    with pytest.raises(ValueError):
        parse_duration("1x")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1, "1s"),
        (61, "1m1s"),
        (600, "10m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (5415, "1h30m15s"),
        (720 * 3600, "720h"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [1, 59, 60, 61, 600, 3599, 3600, 5415, 720 * 3600])
def test_format_then_parse_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
