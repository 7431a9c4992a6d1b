"""Small-number suppression: the one place the "fewer than 5" rules live.

Used by decisions' public "You said, we did" page and API, and by intake's staff
equality report and dashboard. Plain Python, no framework.

A count of one to four could point at someone, so it is shown as "fewer than 5". Hiding
one part of a breakdown is not enough when the total is shown: the total minus the other
parts gives it back. So when a part is hidden and the total is shown, the smallest part
of five or more is hidden too ("5 or more"). The hidden parts then add up to a number
that a part of five or more can absorb, so no small part can be worked out (at most a
part of zero, which counts nobody, beside one of exactly five). When every part is small
and the parts are all exactly four, the total gives them away: the breakdown is then
withheld.

Rates (a share of some base) hide differently: see `rate_withheld` and
`beside_a_lone_hidden_rate`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, TypeVar

THRESHOLD = 5
FEWER_THAN = f"fewer than {THRESHOLD}"  # a hidden count of 0 to 4
AT_LEAST = f"{THRESHOLD} or more"  # a count of five or more, hidden so a small one cannot be derived

Shown = int | str
Name = TypeVar("Name", bound=Hashable)


def is_small(value: int) -> bool:
    """One to four: someone, but few enough to be picked out. Zero counts nobody."""
    return 0 < value < THRESHOLD


def count(value: int) -> Shown:
    """A published count: itself, or "fewer than 5". Zero reads "fewer than 5" too, so a
    hidden count always stands for 0 to 4 and `breakdown`'s reasoning holds."""
    return value if value >= THRESHOLD else FEWER_THAN


def count_showing_nobody(value: int) -> Shown:
    """A count on its own, never a part of a shown total (staff reports): zero picks nobody
    out, so it is shown; one to four reads "fewer than 5"."""
    return FEWER_THAN if is_small(value) else value


def hidden(value: int) -> str:
    """How a count hidden for any reason reads: truthful, without the number."""
    return FEWER_THAN if value < THRESHOLD else AT_LEAST


def parts_to_hide(parts: Mapping[Name, int]) -> set[Name] | None:
    """Which parts of a breakdown beside its shown total to hide: every part under five
    and, if there are any, the smallest part of five or more with them. None when hiding
    cannot protect them (every part is exactly four: the total gives each away)."""
    small = {name for name, value in parts.items() if value < THRESHOLD}
    if not small:
        return set()
    large = sorted((value, name) for name, value in parts.items() if value >= THRESHOLD)
    if large:
        return small | {large[0][1]}
    if sum(parts.values()) == (THRESHOLD - 1) * len(parts):
        return None
    return small


def breakdown(parts: Mapping[str, int], total: int) -> tuple[Shown, dict[str, Shown] | None]:
    """(the total as shown, each part as shown) for parts that add up to `total`; the
    parts are None when they cannot be shown without giving a small one away."""
    if total < THRESHOLD:
        return FEWER_THAN, {name: FEWER_THAN for name in parts}
    to_hide = parts_to_hide(parts)
    if to_hide is None:
        return total, None
    return total, {name: hidden(value) if name in to_hide else value for name, value in parts.items()}


def pooled(parts: Mapping[str, int], pool: str) -> dict[str, Shown]:
    """Parts of five or more listed by name, in name order; the rest counted together under
    `pool` (and only if there are any), so a small part's name is never published."""
    shown: dict[str, Shown] = {name: n for name, n in sorted(parts.items()) if n >= THRESHOLD}
    rest = sum(n for n in parts.values() if n < THRESHOLD)
    if rest:
        shown[pool] = count_showing_nobody(rest)
    return shown


def rate_reveals_a_small_count(numerator: int, denominator: int) -> bool:
    """A rate shows who did and, beside its base, who did not: neither may be one to four,
    and a base under five is itself small."""
    return denominator < THRESHOLD or is_small(numerator) or is_small(denominator - numerator)


def rate_withheld(numerator: int, denominator: int) -> bool:
    """With no base (nobody to count) there is no rate, and nothing to hide."""
    return denominator > 0 and rate_reveals_a_small_count(numerator, denominator)


def beside_a_lone_hidden_rate(hidden_rates: set[Name], sizes: Mapping[Name, Any]) -> set[Name]:
    """Rates of a breakdown whose overall rate is shown: when exactly one is hidden, the
    overall rate and the others give it back, so the smallest other (by `sizes`, which
    lists only the parts that have a rate at all) is hidden with it."""
    if len(hidden_rates) != 1:
        return hidden_rates
    others = sorted((size, name) for name, size in sizes.items() if name not in hidden_rates)
    return hidden_rates | {others[0][1]} if others else hidden_rates
