"""CLI output in Hydra's formats: Go tabwriter tables, cells, Go time strings, JSON."""

from __future__ import annotations

import json
import time

import pytest

from authserver.cli.output import (
    CLIENT_HEADERS,
    EMPTY,
    INTROSPECTION_HEADERS,
    TOKEN_HEADERS,
    _tab_align,
    client_cells,
    go_time,
    introspection_cells,
    print_row,
    print_table,
    token_cells,
)


@pytest.fixture
def timezone(monkeypatch):
    """Set TZ for the test and restore the process time zone afterwards."""

    def set_zone(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def utc(timezone):
    timezone("UTC")


# -- tab alignment ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([], "", id="no-lines"),
        pytest.param([["only"]], "only", id="single-cell"),
        pytest.param([["x"], ["yy"]], "x\nyy", id="single-column-unpadded"),
        # widest 9 + 1 = 10 -> 16: 'CLIENT ID' (9) needs 1 tab, 'abc' (3) needs 2.
        pytest.param(
            [["CLIENT ID", "SCOPE"], ["abc", "openid"]],
            "CLIENT ID\tSCOPE\nabc\t\topenid",
            id="two-columns",
        ),
        # 7 + 1 = 8: exactly one tab stop.
        pytest.param([["abcdefg", "x"], ["a", "y"]], "abcdefg\tx\na\ty", id="width-7"),
        # 8 + 1 = 9 -> 16: the 8-character cell gets 1 tab, the 1-character cell 2.
        pytest.param([["abcdefgh", "1"], ["a", "2"]], "abcdefgh\t1\na\t\t2", id="width-8"),
        # 15 + 1 = 16: stays 16.
        pytest.param(
            [["abcdefghijklmno", "1"], ["a", "2"]],
            "abcdefghijklmno\t1\na\t\t2",
            id="width-15",
        ),
        # 16 + 1 = 17 -> 24: 'A' needs 3 tabs; the second column is independent (3 -> 8).
        pytest.param(
            [["A", "BB", "C"], ["aaaaaaaaaaaaaaaa", "b", "c"]],
            "A\t\t\tBB\tC\naaaaaaaaaaaaaaaa\tb\tc",
            id="three-columns",
        ),
        # An empty cell still takes its column: one tab.
        pytest.param([["", "x"], ["abc", "y"]], "\tx\nabc\ty", id="empty-cell"),
        # The last cell is never padded and does not widen any column.
        pytest.param(
            [["a", "a-very-long-last-cell-indeed"], ["b", "c"]],
            "a\ta-very-long-last-cell-indeed\nb\tc",
            id="last-cell-unpadded",
        ),
    ],
)
def test_tab_align(lines, expected):
    assert _tab_align(lines) == expected


def test_tab_align_columns_line_up_when_tabs_are_expanded():
    rows = [
        ["CLIENT ID", "GRANT TYPES", "SCOPE"],
        ["3f0f8a1e-6a54-4c1c-9d4b-1b6a7e6b8f43", "client_credentials", "openid offline"],
        ["my-app", "authorization_code, refresh_token", "openid"],
        ["x", "y", "z"],
    ]
    lines = _tab_align(rows).split("\n")
    assert len(lines) == len(rows)
    starts = set()
    for line, row in zip(lines, rows, strict=True):
        expanded = line.expandtabs(8)
        first = expanded.index(row[1], len(row[0]))
        second = expanded.index(row[2], first + len(row[1]))
        starts.add((first, second))
        assert first % 8 == 0 and second % 8 == 0
        assert expanded.endswith(row[2])
    assert len(starts) == 1  # every line's columns start at the same place
    first, second = starts.pop()
    assert first > len(rows[1][0])  # at least one column of padding after the widest cell
    assert second - first > len(rows[2][1])


def test_print_row_table(capsys):
    print_row(("CLIENT ID", "SCOPE"), ("abc", "openid"), {"client_id": "abc"}, "table")
    assert capsys.readouterr().out == "CLIENT ID\tabc\nSCOPE\t\topenid\n"


@pytest.mark.parametrize("fmt", ["table", "default"])
def test_print_table(capsys, fmt):
    print_table(("ID", "NAME"), [("1", "one"), ("22", "two")], [{"id": "1"}], fmt)
    assert capsys.readouterr().out == "ID\tNAME\n1\tone\n22\ttwo\n"


def test_print_json_formats(capsys):
    document = {"client_id": "abc", "grant_types": ["client_credentials"]}
    print_table(("ID",), [("abc",)], document, "json")
    compact = capsys.readouterr().out
    assert compact == '{"client_id":"abc","grant_types":["client_credentials"]}\n'
    print_row(("ID",), ("abc",), document, "json-pretty")
    pretty = capsys.readouterr().out
    assert json.loads(pretty) == document
    assert '\n  "client_id": "abc"' in pretty


# -- cells -----------------------------------------------------------------------------


def test_client_cells():
    client = {
        "client_id": "my-client",
        "client_secret": "s3cret",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code", "id_token"],
        "scope": "openid offline",
        "audience": ["https://api.one", "https://api.two"],
        "redirect_uris": ["https://app/cb", "https://app/cb2"],
    }
    cells = client_cells(client)
    assert len(cells) == len(CLIENT_HEADERS)
    assert cells == [
        "my-client",
        "s3cret",
        "authorization_code, refresh_token",
        "code, id_token",
        "openid offline",
        "https://api.one,https://api.two",  # Hydra joins the audience without a space
        "https://app/cb, https://app/cb2",
    ]


def test_client_cells_with_missing_fields():
    cells = client_cells({"client_id": "c", "client_secret": None, "audience": None})
    assert cells == ["c", "", "", "", "", "", ""]


def test_token_cells_missing_tokens_are_empty_marker(utc):
    cells = token_cells({"access_token": "ory_at_abc.def"}, 0)
    assert len(cells) == len(TOKEN_HEADERS)
    assert cells == ["ory_at_abc.def", "<empty>", "<empty>", "1970-01-01 00:00:00 +0000 UTC"]
    assert EMPTY == "<empty>"


def test_token_cells_all_present(utc):
    token = {"access_token": "at", "refresh_token": "rt", "id_token": "eyJ.x.y"}
    assert token_cells(token, 1700000000) == [
        "at",
        "rt",
        "eyJ.x.y",
        "2023-11-14 22:13:20 +0000 UTC",
    ]


def test_token_cells_empty_strings_count_as_missing(utc):
    cells = token_cells({"access_token": "at", "refresh_token": "", "id_token": None}, 0)
    assert cells[1:3] == ["<empty>", "<empty>"]


@pytest.mark.parametrize(
    "result",
    [
        {"active": False},
        {},
        {"active": False, "sub": "someone", "client_id": "c", "scope": "openid", "exp": 1},
    ],
)
def test_introspection_cells_inactive(result):
    cells = introspection_cells(result)
    assert len(cells) == len(INTROSPECTION_HEADERS)
    assert cells == ["false", "", "", "", "", ""]


def test_introspection_cells_active(utc):
    result = {
        "active": True,
        "sub": "user-1",
        "client_id": "my-client",
        "scope": "openid offline",
        "exp": 1700000000,
        "token_use": "access_token",
    }
    assert introspection_cells(result) == [
        "true",
        "user-1",
        "my-client",
        "openid offline",
        "2023-11-14 22:13:20 +0000 UTC",
        "access_token",
    ]


# -- Go time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0, "1970-01-01 00:00:00 +0000 UTC"),
        (None, "1970-01-01 00:00:00 +0000 UTC"),
        (1700000000, "2023-11-14 22:13:20 +0000 UTC"),
        (1719835200, "2024-07-01 12:00:00 +0000 UTC"),
    ],
)
def test_go_time_utc(utc, epoch, expected):
    assert go_time(epoch) == expected


def test_go_time_other_zone(timezone):
    timezone("EST+5")  # POSIX zone: needs no tz database
    assert go_time(0) == "1969-12-31 19:00:00 -0500 EST"
    assert go_time(1700000000) == "2023-11-14 17:13:20 -0500 EST"
