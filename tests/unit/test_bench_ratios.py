"""The benchmark's paired ratios: each round's req/s over the never-closed
case's in the same round, so that a slow stretch weighs on both sides."""

from __future__ import annotations

import pytest

from benchmarks.report import Measurement, paired_ratios


def measured(case: str, rounds: dict[int, float]) -> Measurement:
    measurement = Measurement("pymysql", case, 1)
    measurement.rounds = [{"round": number, "rps": rps} for number, rps in rounds.items()]
    return measurement


@pytest.mark.parametrize(("pooled", "never_closed", "expected"), [
    # The machine slowed down after round 1: each round's ratio is the same.
    ({1: 950, 2: 760, 3: 570}, {1: 1000, 2: 800, 3: 600}, [0.95, 0.95, 0.95]),
    # A round the base case lacks (it failed) gives no ratio.
    ({1: 900, 2: 800}, {2: 1000}, [0.8]),
    # Rounds are matched by number, not by position.
    ({2: 500, 1: 900}, {1: 1000, 2: 1000}, [0.5, 0.9]),
    ({1: 900}, {}, []),
])
def test_each_round_is_compared_with_the_same_round(pooled, never_closed, expected):
    assert paired_ratios(measured("mysqlpool", pooled),
                         measured("never-closed", never_closed)) == expected


def test_no_base_case_gives_no_ratios():
    assert paired_ratios(measured("mysqlpool", {1: 900}), None) == []
