"""Small numbers published to anyone: hidden, and never derivable from what is shown."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rules.disclosure import AT_LEAST, FEWER_THAN, breakdown, count


def test_a_count_under_five_reads_fewer_than_5():
    assert [count(n) for n in (0, 1, 4, 5, 12)] == [FEWER_THAN, FEWER_THAN, FEWER_THAN, 5, 12]


def test_four_of_a_kind_is_hidden_and_the_next_smallest_part_with_it():
    total, parts = breakdown({"view": 5, "recommendation": 4, "question": 7}, 16)

    assert total == 16
    assert parts == {"view": AT_LEAST, "recommendation": FEWER_THAN, "question": 7}


def test_with_nothing_small_everything_is_shown():
    assert breakdown({"yes": 5, "no": 9}, 14) == (14, {"yes": 5, "no": 9})


def test_a_small_total_hides_every_part():
    assert breakdown({"yes": 3, "no": 1}, 4) == (FEWER_THAN, {"yes": FEWER_THAN, "no": FEWER_THAN})


def test_when_every_part_is_exactly_four_the_breakdown_is_withheld():
    assert breakdown({"yes": 4, "partly": 4, "no": 4}, 12) == (12, None)


def _possible_values(total, parts: dict) -> dict[str, set[int]]:
    """Every value each part could have, given only what is shown."""
    names = list(parts)
    ranges = []
    for name in names:
        shown = parts[name]
        if shown == FEWER_THAN:
            ranges.append(range(0, 5))
        elif shown == AT_LEAST:
            ranges.append(range(5, total + 1))
        else:
            ranges.append([shown])
    possible: dict[str, set[int]] = {name: set() for name in names}
    for values in itertools.product(*ranges):
        if sum(values) == total:
            for name, value in zip(names, values, strict=True):
                possible[name].add(value)
    return possible


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12), min_size=2, max_size=5))
def test_no_small_part_can_be_worked_out_from_the_total_and_the_others(values):
    parts = {f"part{i}": value for i, value in enumerate(values)}
    total, shown = breakdown(parts, sum(values))
    if total == FEWER_THAN or shown is None:
        return  # nothing to subtract from, or nothing shown
    for name, possible in _possible_values(total, shown).items():
        assert parts[name] in possible
        pinned_small = len(possible) == 1 and 0 < parts[name] < 5  # zero counts nobody; five is shown anyway
        assert not pinned_small, (parts, shown, name)
