"""A page session's idle and absolute timeouts."""

from __future__ import annotations

from shared.http import sessions

IDLE, ABSOLUTE = 1800.0, 28800.0


def ended_at(session: dict, now: float):
    return sessions.ended(session, now, idle=IDLE, absolute=ABSOLUTE)


def test_a_session_in_use_lasts():
    session = sessions.stamps(1000.0)
    assert ended_at(session, 1000.0 + IDLE - 1) is None


def test_a_session_left_idle_ends():
    session = sessions.stamps(1000.0)
    assert ended_at(session, 1000.0 + IDLE) == sessions.IDLE


def test_each_request_restarts_the_idle_timeout():
    session = sessions.stamps(1000.0)
    sessions.touch(session, 1000.0 + IDLE - 1)
    assert ended_at(session, 1000.0 + IDLE + 5) is None


def test_a_busy_session_still_ends_at_the_absolute_timeout():
    session = sessions.stamps(1000.0)
    for now in range(1000, 1000 + int(ABSOLUTE), 600):
        sessions.touch(session, float(now))
    assert ended_at(session, 1000.0 + ABSOLUTE) == sessions.ABSOLUTE


def test_a_session_without_its_times_has_ended():
    assert ended_at({"key_id": "abc"}, 1000.0) == sessions.ABSOLUTE
    assert ended_at({"started": "yesterday", "seen": 1000.0}, 1000.0) == sessions.ABSOLUTE
