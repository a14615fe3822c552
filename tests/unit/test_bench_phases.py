"""A request's CPU time per step from a worker's totals, and the median of
the rounds (benchmarks.phases)."""

from __future__ import annotations

import pytest

from benchmarks.phases import STEPS, medians, per_request_step


def steps(connect, query, finish, total=None) -> dict[str, float]:
    figures = dict(zip(STEPS, (connect, query, finish), strict=True))
    figures["total"] = connect + query + finish if total is None else total
    return figures


@pytest.mark.parametrize(("totals", "expected"), [
    # Each step's sum over the threads, over the requests they made.
    ({"connect": 0.05, "query": 0.8, "finish": 0.07, "requests": 1000},
     steps(50e-6, 800e-6, 70e-6)),
    # A step that costs nothing is 0, and counts for nothing in the total.
    ({"connect": 0.0, "query": 0.3, "finish": 0.0, "requests": 500},
     steps(0.0, 600e-6, 0.0)),
])
def test_a_request_s_share_of_each_step_is_its_total_over_the_requests(totals, expected):
    assert per_request_step(totals) == pytest.approx(expected)


def test_a_worker_that_measured_no_request_is_an_error_not_a_zero():
    with pytest.raises(RuntimeError, match="no request"):
        per_request_step({"connect": 0.0, "query": 0.0, "finish": 0.0, "requests": 0})


def test_the_median_of_the_rounds_is_taken_step_by_step():
    rounds = [steps(3, 1, 9), steps(1, 2, 8), steps(2, 3, 7)]
    # The total too is the median of the rounds' totals (13, 11, 12), not the
    # sum of the steps' medians.
    assert medians(rounds) == steps(2, 2, 8, total=12)
