"""The order in which a round runs the cases: each driver's cases turned by
one place per round, so that no case always runs first or last."""

from __future__ import annotations

import pytest

from benchmarks.cases import round_order

RUNNABLE = [("mysqlclient", "never-closed"), ("mysqlclient", "mysqlpool"),
            ("mysqlclient", "mysqlpool-otel"), ("pymysql", "never-closed"),
            ("pymysql", "mysqlpool")]


@pytest.mark.parametrize(("round_number", "expected"), [
    (1, RUNNABLE),
    (2, [("mysqlclient", "mysqlpool"), ("mysqlclient", "mysqlpool-otel"),
         ("mysqlclient", "never-closed"), ("pymysql", "mysqlpool"),
         ("pymysql", "never-closed")]),
    (3, [("mysqlclient", "mysqlpool-otel"), ("mysqlclient", "never-closed"),
         ("mysqlclient", "mysqlpool"), ("pymysql", "never-closed"),
         ("pymysql", "mysqlpool")]),
    # Round 4 is round 1 again for three cases (and round 2 for two).
    (4, [*RUNNABLE[:3], ("pymysql", "mysqlpool"), ("pymysql", "never-closed")]),
])
def test_each_round_turns_each_drivers_cases_by_one_place(round_number, expected):
    assert round_order(RUNNABLE, round_number) == expected


@pytest.mark.parametrize("cases", [2, 4, 5])
def test_over_as_many_rounds_as_cases_each_case_runs_once_in_each_place(cases):
    runnable = [("pymysql", f"case-{index}") for index in range(cases)]
    places = {pair: set() for pair in runnable}
    for round_number in range(1, cases + 1):
        for place, pair in enumerate(round_order(runnable, round_number)):
            places[pair].add(place)
    assert all(seen == set(range(cases)) for seen in places.values())


def test_a_single_case_and_no_cases():
    assert round_order([("pymysql", "mysqlpool")], 3) == [("pymysql", "mysqlpool")]
    assert round_order([], 1) == []
