"""One request's share of two runs' figures (benchmarks.per_request), and the
median of the rounds (benchmarks.switches)."""

from __future__ import annotations

import pytest

from benchmarks.per_request import share_of_one
from benchmarks.switches import NAMES, medians


def run(wall, user, system, voluntary, involuntary) -> dict[str, float]:
    return dict(zip(NAMES, (wall, user, system, voluntary, involuntary), strict=True))


@pytest.mark.parametrize(("fewer", "more", "extra", "expected"), [
    # Start-up (the first run's figures) is taken out by the difference.
    (run(2.0, 1.5, 0.2, 1_000, 50), run(4.0, 3.5, 0.6, 11_000, 150), 1000,
     run(0.002, 0.002, 0.0004, 10.0, 0.1)),
    # No extra cost per request: zero, not the start-up's share.
    (run(1.0, 1.0, 0.1, 500, 5), run(1.0, 1.0, 0.1, 500, 5), 200, run(0, 0, 0, 0, 0)),
])
def test_a_request_s_share_is_the_difference_over_the_extra_requests(
        fewer, more, extra, expected):
    assert share_of_one(fewer, more, extra, NAMES) == pytest.approx(expected)


def test_the_median_of_the_rounds_is_taken_figure_by_figure():
    rounds = [run(3, 1, 9, 7, 0), run(1, 2, 8, 9, 1), run(2, 3, 7, 8, 5)]
    assert medians(rounds) == run(2, 2, 8, 8, 1)
