"""`authserver demo --reset`: what it removes and what it keeps (``devstack.reset_database``)."""

from __future__ import annotations

from authserver.devstack import DATABASE_FILE, ensure_secret, reset_database


def test_reset_removes_the_database_with_its_wal_files_and_keeps_the_secret(tmp_path):
    secret = ensure_secret(tmp_path / "secret")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "authserver.log").write_text("kept\n")
    for name in (DATABASE_FILE, DATABASE_FILE + "-wal", DATABASE_FILE + "-shm"):
        (tmp_path / name).write_bytes(b"data")

    line = reset_database(tmp_path)

    assert "\n" not in line
    assert str(tmp_path / DATABASE_FILE) in line and "removed" in line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "secret"]
    assert ensure_secret(tmp_path / "secret") == secret
    assert (tmp_path / "logs" / "authserver.log").read_text() == "kept\n"


def test_reset_without_a_database_says_there_was_nothing_to_remove(tmp_path):
    line = reset_database(tmp_path / "never-started")
    assert "nothing to remove" in line
