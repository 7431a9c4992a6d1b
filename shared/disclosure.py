"""Small-number suppression for counts published to anyone (public pages, reports).

A count under five could point at someone, so it is shown as "fewer than 5". Hiding one
part of a breakdown is not enough when the total is shown: the total minus the other
parts gives it back. So when a part is hidden and the total is shown, the smallest part
of five or more is hidden too ("5 or more"). The hidden parts then add up to a number
that a part of five or more can absorb, so no small part can be worked out (at most a
part of zero, which counts nobody, beside one of exactly five). When every
part is small and the parts are all exactly four, the total gives them away: the
breakdown is then withheld.
"""

from __future__ import annotations

from collections.abc import Mapping

THRESHOLD = 5
FEWER_THAN = "fewer than 5"  # a hidden count of 0 to 4
AT_LEAST = "5 or more"  # a count of five or more, hidden so a small one cannot be derived

Shown = int | str


def count(value: int) -> Shown:
    """One count on its own: itself, or "fewer than 5" (zero too: zero is under five)."""
    return value if value >= THRESHOLD else FEWER_THAN


def breakdown(parts: Mapping[str, int], total: int) -> tuple[Shown, dict[str, Shown] | None]:
    """(the total as shown, each part as shown) for parts that add up to `total`; the
    parts are None when they cannot be shown without giving a small one away."""
    if total < THRESHOLD:
        return FEWER_THAN, {name: FEWER_THAN for name in parts}
    shown: dict[str, Shown] = {name: count(value) for name, value in parts.items()}
    small = [name for name, value in parts.items() if value < THRESHOLD]
    if not small:
        return total, shown
    large = sorted((value, name) for name, value in parts.items() if value >= THRESHOLD)
    if large:
        shown[large[0][1]] = AT_LEAST
        return total, shown
    if total == (THRESHOLD - 1) * len(parts):  # every part is exactly four
        return total, None
    return total, shown
