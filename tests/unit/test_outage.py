"""The outage classifier and tracker: which errors mean "the database is down", one log line per outage."""

from __future__ import annotations

import logging

import asyncpg

from coinvoice.db.outage import SETTLE_SECONDS, OutageTracker, is_outage


def test_connection_failures_are_outages_and_bugs_are_not():
    assert is_outage(ConnectionRefusedError(111, "refused"))
    assert is_outage(TimeoutError())
    assert is_outage(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"))
    assert is_outage(asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"))
    assert is_outage(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    assert is_outage(asyncpg.InterfaceError("cannot perform operation: connection is closed"))
    assert not is_outage(asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released"))
    assert not is_outage(asyncpg.UndefinedTableError("relation does not exist"))
    assert not is_outage(ValueError("bad"))


def test_one_warning_per_outage_one_line_on_recovery_and_a_doubling_back_off(caplog, monkeypatch):
    now = [100.0]
    monkeypatch.setattr("coinvoice.db.outage.time.monotonic", lambda: now[0])
    tracker = OutageTracker(logging.getLogger("test.outage"), base=0.5, cap=2.0)
    with caplog.at_level(logging.INFO, logger="test.outage"):
        tracker.succeeded()  # nothing to recover from: silent
        for _ in range(5):
            assert tracker.should_try()
            tracker.failed("job", OSError("refused"))
            assert not tracker.should_try()
            now[0] += 10
        tracker.succeeded()
        tracker.succeeded()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0][0] == "WARNING" and lines[0][1].startswith("database unavailable (OSError: refused, in job)")
    assert lines[1][0] == "INFO" and lines[1][1].startswith("database reachable again after 50.0 s (5 failed tries)")
    tracker.failed("job", OSError("refused"))
    now[0] += 0.4
    assert not tracker.should_try()
    now[0] += 0.2
    assert tracker.should_try()
    tracker.failed("job", OSError("refused"))  # the back-off doubles, up to the cap
    now[0] += 0.9
    assert not tracker.should_try()
    now[0] += 0.2
    assert tracker.should_try()


def test_a_failure_just_after_recovery_reopens_the_same_outage_quietly(caplog, monkeypatch):
    now = [100.0]
    monkeypatch.setattr("coinvoice.db.outage.time.monotonic", lambda: now[0])
    tracker = OutageTracker(logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        tracker.failed("api", OSError("refused"))
        now[0] += 20
        tracker.succeeded()
        now[0] += SETTLE_SECONDS - 1  # a connection opened before the outage fails late
        tracker.failed("job", ConnectionResetError("reset"))
        assert tracker.down
        now[0] += 1
        tracker.succeeded()
        assert not tracker.down
        now[0] += SETTLE_SECONDS + 1  # long after: a new outage, logged again
        tracker.failed("job", OSError("refused"))
        tracker.succeeded()
    lines = [r.getMessage().split(" (")[0].split(" after")[0] for r in caplog.records]
    assert lines == [
        "database unavailable",
        "database reachable again",
        "database unavailable",
        "database reachable again",
    ], lines
