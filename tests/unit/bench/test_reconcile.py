"""The soak's reconciliation: what counts as a match, a repeat, a latency."""

from bench.reconcile import (
    Check,
    distinct,
    duplicate_bound,
    duplicates,
    first_arrivals,
    latencies_s,
    mismatches,
    percentile,
    settled,
    table,
)


def test_a_row_matches_only_when_found_equals_expected():
    assert Check("contributions", 10, 10).ok
    assert not Check("contributions", 10, 9).ok  # one lost
    assert not Check("contributions", 10, 11).ok  # one made twice


def test_duplicates_are_allowed_up_to_the_documented_bound_and_no_further():
    assert Check("duplicates", 0, 4, allowed_extra=4).ok
    assert not Check("duplicates", 0, 5, allowed_extra=4).ok
    assert Check("duplicates", 0, 4, allowed_extra=4).expected_text == "0..4"


def test_the_table_marks_each_row_and_the_mismatches_are_listed():
    checks = [Check("intake: contributions", 3, 3), Check("SMTP + Notify: acknowledgements received", 3, 2)]
    printed = table(checks)
    assert "| intake: contributions " in printed and "| OK" in printed
    assert "| MISMATCH |" in printed.splitlines()[-1]
    assert mismatches(checks) == [checks[1]]


def test_a_message_delivered_three_times_is_two_duplicates():
    assert duplicates(["a", "b", "a", "a", "c", "b"]) == 3
    assert distinct(["a", "b", "a"]) == 2


def test_latency_runs_from_sending_to_the_first_delivery_of_each_message():
    arrived = first_arrivals([("c1", 5_000_000_000), ("c1", 3_000_000_000), ("c2", 4_000_000_000)])
    assert arrived == {"c1": 3_000_000_000, "c2": 4_000_000_000}
    # c3 was never delivered: it has no latency (the table counts it missing instead).
    assert latencies_s({"c1": 1_000_000_000, "c2": 1_500_000_000, "c3": 0}, arrived) == [2.0, 2.5]


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) is None


def test_the_bound_is_one_per_killed_sender_and_one_per_sender_per_long_database_outage():
    assert duplicate_bound(sender_kills=2, sender_processes=2, long_database_outages=1) == 4
    assert duplicate_bound(sender_kills=2, sender_processes=2, long_database_outages=0) == 2
    assert duplicate_bound(sender_kills=0, sender_processes=2, long_database_outages=0) == 0


def test_counts_have_settled_only_after_staying_the_same_for_the_quiet_period():
    history = [(0.0, (1, 5)), (4.0, (0, 6)), (9.0, (0, 6)), (15.0, (0, 6))]
    assert settled(history, 10)
    assert not settled(history, 12)
    assert not settled(history[:3], 10)
    assert not settled([], 1)
