"""Page sessions' lifetimes: an idle timeout and an absolute one (pure; no framework).

A session holds when it `started` and when it was last `seen` (seconds since the epoch);
SESSION_IDLE_TIMEOUT and SESSION_ABSOLUTE_TIMEOUT (shared/infra/settings.py) bound them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

IDLE = "idle"
ABSOLUTE = "absolute"


def stamps(now: float) -> dict[str, float]:
    """What a new session holds about its age."""
    return {"started": now, "seen": now}


def ended(session: Mapping, now: float, *, idle: float, absolute: float) -> str | None:
    """Why the session has ended (IDLE or ABSOLUTE), or None while it lasts.

    A session without its stamps (made before they existed, or tampered with) has ended.
    """
    started, seen = session.get("started"), session.get("seen")
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return ABSOLUTE
    if now - started >= absolute:
        return ABSOLUTE
    if now - seen >= idle:
        return IDLE
    return None


def touch(session: MutableMapping, now: float) -> None:
    """A request: the idle timeout counts again from now."""
    session["seen"] = now
